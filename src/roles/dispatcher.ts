import { Dispatcher } from '../dispatch/dispatcher.js';
import { ReconcileLoop } from '../dispatch/reconcile-loop.js';
import { MAINNET_DEFAULT, QUICKNET } from '../domain/drand-beacon.js';
import { httpBeaconRelay } from '../infra/drand-relay.js';
import { connectRedis } from '../infra/redis.js';
import { Dispatching, type DispatchOptions } from '../services/dispatching.js';
import { RandomnessBeacon } from '../services/randomness-beacon.js';
import { Reconciler } from '../services/reconciler.js';
import { type Infrastructure, packetProgressOf, protocolTrailOf } from './infrastructure.js';

/** The dispatching service over the shared infrastructure, as the dispatcher role (and the tests) use it. */
export function dispatchingOf(
  infra: Infrastructure,
  options: DispatchOptions = infra.config.dispatch,
): Dispatching {
  const { packets, registrars, readyQueue, protocol } = infra.repositories;
  const beacon = infra.config.dispatch.beacon;
  return new Dispatching({
    packets,
    registrars,
    readyQueue,
    protocol,
    ...protocolTrailOf(infra),
    metrics: infra.metrics,
    log: infra.log.child({ component: 'dispatcher' }),
    options,
    ...(beacon
      ? {
          beacon: new RandomnessBeacon({
            chain: beacon.chain === 'quicknet' ? QUICKNET : MAINNET_DEFAULT,
            relay: httpBeaconRelay(beacon.url, BEACON_TIMEOUT_MS),
            quietMs: BEACON_QUIET_MS,
            log: infra.log.child({ component: 'randomness-beacon' }),
          }),
        }
      : {}),
  });
}

/** A draw does not wait longer than this for the relay: past it, the epoch secret alone decides (logged). */
const BEACON_TIMEOUT_MS = 1500;
/** After a relay failure, draws do without the beacon this long instead of each waiting for the timeout. */
const BEACON_QUIET_MS = 30_000;

/** The dispatcher role: a loop woken by packet-ready and registrar-free events and by a periodic sweep. */
export async function startDispatcherRole(infra: Infrastructure): Promise<void> {
  const { config, log, shutdown } = infra;
  const dispatcher = new Dispatcher(
    dispatchingOf(infra),
    log.child({ component: 'dispatcher' }),
    config.dispatch.sweepSeconds,
  );
  // Waiting for a wake-up blocks its connection, so the wait gets a connection of its own.
  const blocking = await connectRedis(infra.redisUrl, 'blocking');
  const running = dispatcher.run(blocking);
  shutdown.register('work', 'dispatcher', async () => {
    dispatcher.stop();
    blocking.disconnect();
    await running;
  });

  const reconcileLoop = new ReconcileLoop(
    reconcilerOf(infra),
    log.child({ component: 'reconciler' }),
    config.reconcileSeconds,
  );
  const reconciling = reconcileLoop.run();
  shutdown.register('work', 'reconciler', async () => {
    reconcileLoop.stop();
    await reconciling;
  });
  log.info({ ...config.dispatch, reconcileSeconds: config.reconcileSeconds }, 'dispatcher started');
}

/** The reconciler over the shared infrastructure: its grace is one reconcile interval. */
export function reconcilerOf(infra: Infrastructure): Reconciler {
  const { packets, registrars } = infra.repositories;
  return new Reconciler({
    packets,
    registrars,
    jobs: infra.jobs,
    progress: packetProgressOf(infra),
    metrics: infra.metrics,
    log: infra.log.child({ component: 'reconciler' }),
    graceMs: infra.config.reconcileSeconds * 1000,
    retryWindowMs: infra.config.jobs.retryWindowMs,
  });
}
