import { connectRedis } from '../infra/redis.js';
import type { Runtime } from '../runtime.js';
import { Dispatcher } from './dispatcher.js';

/** The dispatcher role: a loop woken by packet-ready and registrar-free events and by a periodic sweep. */
export async function startDispatcherRole(runtime: Runtime): Promise<Dispatcher> {
  const { config, log } = runtime;
  const dispatcher = new Dispatcher({
    assignments: runtime.assignments,
    principals: runtime.principals,
    store: runtime.store,
    metrics: runtime.metrics,
    log: log.child({ component: 'dispatcher' }),
    options: config.dispatch,
  });
  // BLPOP blocks its connection, so the wait gets a connection of its own.
  const blocking = await connectRedis(runtime.redisUrl, 'blocking');
  const running = dispatcher.run(blocking);
  runtime.shutdown.register('work', 'dispatcher', async () => {
    dispatcher.stop();
    blocking.disconnect();
    await running;
  });
  log.info(config.dispatch, 'dispatcher started');
  return dispatcher;
}
