import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';

/** Worker and dispatcher processes have no API; they still answer Prometheus and liveness probes. */
export async function startMetricsServer(
  metrics: Metrics,
  log: Logger,
  host: string,
  port: number,
): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, disableRequestLogging: true });
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await app.listen({ host, port });
  return app;
}
