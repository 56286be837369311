import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../infra/logger.js';
import type { Reconciler } from '../services/reconciler.js';

/** Runs the reconciler every `intervalSeconds` until stop(); a failed pass is logged and the next one tries again. */
export class ReconcileLoop {
  private readonly stopping = new AbortController();

  constructor(
    private readonly reconciler: Reconciler,
    private readonly log: Logger,
    private readonly intervalSeconds: number,
  ) {}

  async run(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      try {
        await this.reconciler.reconcileOnce();
      } catch (error) {
        this.log.error({ err: error }, 'reconcile pass failed; trying again next time');
      }
      await sleep(this.intervalSeconds * 1000, undefined, { signal }).catch(() => {});
    }
  }

  stop(): void {
    this.stopping.abort();
  }
}
