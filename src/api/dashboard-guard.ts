import type { FastifyReply, FastifyRequest } from 'fastify';
import { adminTokenMatcher } from '../services/access.js';

/**
 * The queue dashboard is opened in a browser, which cannot send a Bearer header by itself: accept the admin token as
 * Bearer or as the password of HTTP Basic auth (any user name), so the browser shows its own login prompt.
 */
export function dashboardGuard(adminToken: string) {
  const isAdminToken = adminTokenMatcher(adminToken);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    let presented: string | undefined;
    if (header.startsWith('Bearer ')) presented = header.slice('Bearer '.length);
    else if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
      presented = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (presented !== undefined && isAdminToken(presented)) return;
    // Answer here: errors thrown inside the dashboard's plugin would meet its own error handler, not ours.
    await reply
      .code(401)
      .header('www-authenticate', 'Basic realm="queues", charset="UTF-8"')
      .send({ error: { code: 'unauthorized', message: 'The queue dashboard needs the admin token' } });
  };
}
