import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Infrastructure } from './infrastructure.js';

/** Worker and dispatcher processes have no API; they still answer Prometheus and liveness probes. */
export async function startMetricsServer(infra: Infrastructure): Promise<void> {
  const { metrics, log, config } = infra;
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger, disableRequestLogging: true });
  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  await app.listen({ host: config.host, port: config.metricsPort });
  infra.shutdown.register('intake', 'metrics-server', () => app.close());
}
