import path from 'node:path';
import { buildApp } from './api/app.js';
import { startMetricsServer } from './api/metrics-server.js';
import { ConfigError, loadConfig, ROLES, type Role } from './config.js';
import { startDispatcherRole } from './dispatch/start-dispatcher-role.js';
import { createLogger } from './infra/logger.js';
import { appDepsOf, createRuntime, type Runtime, StartupError } from './runtime.js';
import { startWorkerRole } from './workers/start-worker-role.js';

/** Below compose's stop_grace_period for workers (90 s), so the process reports itself before Docker kills it. */
const SHUTDOWN_DEADLINE_MS = 80_000;

function roleFromArgs(fallback: Role): Role {
  const requested = process.argv[2];
  if (requested === undefined) return fallback;
  if ((ROLES as readonly string[]).includes(requested)) return requested as Role;
  throw new ConfigError([`role argument: expected one of ${ROLES.join(', ')}, got "${requested}"`]);
}

async function startApi(runtime: Runtime): Promise<string> {
  const app = await buildApp(appDepsOf(runtime));
  // Fastify's close stops accepting connections and waits for in-flight requests.
  runtime.shutdown.register('intake', 'http', () => app.close());
  const { host, port } = runtime.config;
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shownHost}:${boundPort}`;
}

/** Printed to stdout, not logged: it carries the admin token, which must never reach the logs. */
function printBanner(runtime: Runtime, role: Role, baseUrl: string | undefined): void {
  const lines = [`Scan office is running (role: ${role})`];
  if (baseUrl) {
    lines.push(
      `  API          ${baseUrl}/v1`,
      `  API docs     ${baseUrl}/docs`,
      `  Queues       ${baseUrl}/admin/queues   (admin token as password)`,
      `  Metrics      ${baseUrl}/metrics`,
      `  Health       ${baseUrl}/health/ready`,
    );
  }
  lines.push(`  Redis        ${runtime.endpoints.redis}`, `  S3           ${runtime.endpoints.s3}`);
  const { token, source } = runtime.adminToken;
  if (source === 'env') lines.push('  Admin token  from ADMIN_TOKEN');
  else {
    const file = path.join(runtime.config.dataDir, 'admin-token');
    lines.push(`  Admin token  ${token}   (${source === 'generated' ? 'generated, ' : ''}kept in ${file})`);
  }
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const role = roleFromArgs(config.role);
  const log = createLogger(config.logLevel).child({ role });
  const runtime = await createRuntime(config, log);

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight requests and jobs');
      // Never hang: past the deadline (longer than a page or a bundle takes), exit and let jobs be recovered.
      setTimeout(() => {
        log.error({ timeoutMs: SHUTDOWN_DEADLINE_MS }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      runtime.shutdown.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }

  if (role === 'worker' || role === 'all') await startWorkerRole(runtime);
  if (role === 'dispatcher' || role === 'all') await startDispatcherRole(runtime);
  let baseUrl: string | undefined;
  if (role === 'api' || role === 'all') baseUrl = await startApi(runtime);
  else {
    const server = await startMetricsServer(
      runtime.metrics,
      log,
      runtime.config.host,
      runtime.config.metricsPort,
    );
    runtime.shutdown.register('intake', 'metrics-server', () => server.close());
  }
  printBanner(runtime, role, baseUrl);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
