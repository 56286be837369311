import path from 'node:path';
import { ConfigError, loadConfig, ROLES, type Role } from './config.js';
import { createLogger } from './infra/logger.js';
import { startApiRole } from './roles/api.js';
import { startDispatcherRole } from './roles/dispatcher.js';
import { type Infrastructure, openInfrastructure, StartupError } from './roles/infrastructure.js';
import { startMetricsServer } from './roles/metrics-server.js';
import { startWorkerRole } from './roles/worker.js';

/** Below compose's stop_grace_period for workers (90 s), so the process reports itself before Docker kills it. */
const SHUTDOWN_DEADLINE_MS = 80_000;

function roleFromArgs(fallback: Role): Role {
  const requested = process.argv[2];
  if (requested === undefined) return fallback;
  if ((ROLES as readonly string[]).includes(requested)) return requested as Role;
  throw new ConfigError([`role argument: expected one of ${ROLES.join(', ')}, got "${requested}"`]);
}

/** Printed to stdout, not logged: it carries the admin token, which must never reach the logs. */
function printBanner(infra: Infrastructure, role: Role, baseUrl: string | undefined): void {
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
  lines.push(`  Redis        ${infra.endpoints.redis}`, `  S3           ${infra.endpoints.s3}`);
  const { token, source } = infra.adminToken;
  if (source === 'env') lines.push('  Admin token  from ADMIN_TOKEN');
  else {
    const file = path.join(infra.config.dataDir, 'admin-token');
    lines.push(`  Admin token  ${token}   (${source === 'generated' ? 'generated, ' : ''}kept in ${file})`);
  }
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const role = roleFromArgs(config.role);
  const log = createLogger(config.logLevel).child({ role });
  const infra = await openInfrastructure(config, log);

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
      infra.shutdown.shutdown().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }

  if (role === 'worker' || role === 'all') await startWorkerRole(infra);
  if (role === 'dispatcher' || role === 'all') await startDispatcherRole(infra);
  let baseUrl: string | undefined;
  if (role === 'api' || role === 'all') baseUrl = await startApiRole(infra);
  else await startMetricsServer(infra);
  printBanner(infra, role, baseUrl);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
