import { randomUUID } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { isRedisUnavailable } from '../infra/redis.js';
import { createAuth } from './auth.js';
import { dashboardGuard } from './dashboard-guard.js';
import type { ApiDeps } from './deps.js';
import { answerRouterError, installErrorHandler } from './error-handler.js';
import { anonymousLimiter, registerProtection } from './protection.js';
import { adminRoutes } from './routes/admin.js';
import { catalogueRoutes } from './routes/catalogue.js';
import { documentRoutes } from './routes/documents.js';
import { opsRoutes } from './routes/ops.js';
import { packetRoutes } from './routes/packets.js';
import { publicRoutes } from './routes/public.js';
import { registrarRoutes } from './routes/registrar.js';
import { sessionRoutes } from './routes/session.js';
import { registerWeb } from './web.js';

/** JSON bodies are small (names, tickets, decisions); page images have their own, larger limit. */
const JSON_BODY_LIMIT = 64 * 1024;

/** Builds the HTTP app without listening, so tests drive it with `inject()` and `main` decides where it listens. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: 'x-request-id',
    bodyLimit: JSON_BODY_LIMIT,
    // A slow or stalled client (slow-loris) must not hold a connection forever. Node checks the request timeout
    // only every connectionsCheckingInterval (30 s by default), so check at a quarter of the timeout.
    requestTimeout: deps.config.protection.requestTimeoutMs,
    connectionTimeout: deps.config.protection.requestTimeoutMs,
    // Node enforces requestTimeout only when headersTimeout is not larger than it.
    http: {
      connectionsCheckingInterval: Math.max(250, Math.floor(deps.config.protection.requestTimeoutMs / 4)),
      headersTimeout: Math.min(60_000, deps.config.protection.requestTimeoutMs),
      requestTimeout: deps.config.protection.requestTimeoutMs,
    },
    keepAliveTimeout: 10_000,
    return503OnClosing: true,
    frameworkErrors: answerRouterError,
  });
  await registerProtection(app, deps);
  await app.register(fastifyCookie);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app, (error) => isRedisUnavailable(deps.redis, error));

  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpRequestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Scan office API',
        version: '1',
        description:
          'Scanner stations upload page images; workers OCR them into a signed PDF; a dispatcher assigns each packet ' +
          'to a random free registrar. Errors are {"error":{"code","message"}}.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const countAnonymous = anonymousLimiter(app, deps);
  const auth = createAuth(deps.services.access, countAnonymous);
  await app.register(sessionRoutes(deps, auth, countAnonymous));
  await app.register(opsRoutes(deps));
  await app.register(publicRoutes(deps, countAnonymous));
  await app.register(packetRoutes(deps, auth));
  await app.register(documentRoutes(deps, auth));
  await app.register(adminRoutes(deps, auth));
  await app.register(catalogueRoutes(deps, auth));
  await app.register(registrarRoutes(deps, auth));

  await app.register(async (dashboard) => {
    dashboard.addHook('onRequest', dashboardGuard(deps.adminToken));
    const serverAdapter = new FastifyAdapter();
    createBullBoard({ queues: deps.queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });
    serverAdapter.setBasePath('/admin/queues');
    await dashboard.register(serverAdapter.registerPlugin(), { prefix: '/admin/queues' });
  });

  await registerWeb(app, deps.webRoot);
  return app;
}
