import type { Logger } from './logger.js';

/**
 * Shutdown runs in phases: stop taking work (HTTP), let running work finish (workers, dispatcher), then close
 * clients, then stop the servers we spawned. Within a phase, closers run concurrently.
 */
export const SHUTDOWN_PHASES = ['intake', 'work', 'clients', 'servers'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

type Closer = { phase: ShutdownPhase; name: string; close: () => Promise<unknown> };

export class ShutdownRegistry {
  private readonly closers: Closer[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  register(phase: ShutdownPhase, name: string, close: () => Promise<unknown>): void {
    this.closers.push({ phase, name, close });
  }

  /** Idempotent: a second signal waits for the first shutdown instead of starting another. */
  shutdown(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  private async run(): Promise<void> {
    for (const phase of SHUTDOWN_PHASES) {
      const closers = this.closers.filter((closer) => closer.phase === phase);
      await Promise.all(
        closers.map(async ({ name, close }) => {
          try {
            await close();
            this.log.debug({ phase, name }, 'closed');
          } catch (error) {
            this.log.error({ err: error, phase, name }, 'failed to close cleanly');
          }
        }),
      );
    }
  }
}
