import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The built front end (Vite, `npm run build`): dist/web beside dist/api in the image and after `npm start`, and
 * the same folder when the sources run through tsx (tests build it first).
 */
export const WEB_ROOT = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../web/' : '../../dist/web/', import.meta.url),
);

/** Page paths and the built HTML that serves them; each page loads only its own scripts. */
const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/desk': 'desk/index.html',
  '/track': 'track/index.html',
  '/track/:code': 'track/index.html',
  '/station': 'station/index.html',
  '/admin': 'admin/index.html',
};

/**
 * Serves the pages and their assets from WEB_ROOT: hashed assets for a year, pages always revalidated. Nothing is
 * loaded from anywhere else (the CSP says so too).
 */
export async function registerWeb(app: FastifyInstance, root = WEB_ROOT): Promise<void> {
  if (!existsSync(path.join(root, 'index.html'))) {
    app.log.warn({ root }, 'the web front end is not built (npm run build); only the API is served');
    return;
  }
  // wildcard: false registers one route per built file, so an unknown path stays our JSON 404.
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    index: false,
    wildcard: false,
    setHeaders: (response, file) => {
      const hashed = file.includes(`${path.sep}assets${path.sep}`);
      response.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = (file: string) => (_request: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').sendFile(file);
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, { schema: { hide: true } }, page(file));
    if (url !== '/' && !url.includes(':')) app.get(`${url}/`, { schema: { hide: true } }, page(file));
  }
}
