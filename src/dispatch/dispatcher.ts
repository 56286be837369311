import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { Dispatching } from '../services/dispatching.js';

/**
 * The dispatcher loop: a pass (draws, then the protocol mirror) on every wake-up (packet ready, registrar free,
 * release) and at least every `sweepSeconds`.
 */
export class Dispatcher {
  private readonly stopping = new AbortController();

  constructor(
    private readonly dispatching: Dispatching,
    private readonly log: Logger,
    private readonly sweepSeconds: number,
  ) {}

  /** Runs until stop(); `blocking` is a connection of its own, since waiting for a wake-up blocks it. */
  async run(blocking: Redis): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      try {
        await this.dispatching.dispatchAll(signal);
        if (signal.aborted) break;
        await this.dispatching.waitForWork(blocking, this.sweepSeconds);
      } catch (error) {
        if (signal.aborted) break;
        this.log.error({ err: error }, 'dispatch pass failed; retrying');
        await sleep(1000);
      }
    }
  }

  stop(): void {
    this.stopping.abort();
  }
}
