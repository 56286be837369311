import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../infra/logger.js';

/** No worker answered in time: the pool replaces the worker, and the page's job is retried. */
export class OcrTimeoutError extends Error {
  override name = 'OcrTimeoutError';
}

export type WorkerLeasesOptions<W> = {
  /** Starts one worker (a thread); replacements are started the same way. */
  start: () => Promise<W>;
  stop: (worker: W) => Promise<unknown>;
  /** Deadline of one call, the wait for a free worker included. */
  timeoutMs: number;
  /** Replace a worker after this many calls (tesseract.js's WASM heap never shrinks). */
  recycleAfter: number;
  log: Logger;
  /** What the workers do, for messages ("OCR", "orientation detection"). */
  what: string;
};

type Slot<W> = { worker: W; uses: number };

/** Rejects with OcrTimeoutError unless `work` settles within `ms`; `onTimeout` runs when it does not. */
async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new OcrTimeoutError(`${what} did not finish within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A fixed number of workers lent one caller at a time; callers queue in order while all are out. Nothing waits
 * for ever: a caller that gets no worker within the deadline, or whose call outlives it, fails with OcrTimeoutError
 * (the job is retried), and a worker that outlived it is stopped and replaced, so a hung thread cannot hold its
 * slot (or the job lock) for good. A replacement that cannot start is tried again with backoff while the others
 * go on.
 */
export class WorkerLeases<W> {
  private readonly idle: Array<Slot<W>> = [];
  private readonly waiting: Array<(slot: Slot<W>) => void> = [];
  /** Replacements being started; close waits for them, so no thread outlives the pool. */
  private readonly replacing = new Set<Promise<void>>();
  private closed = false;

  private constructor(private readonly options: WorkerLeasesOptions<W>) {}

  static async open<W>(count: number, options: WorkerLeasesOptions<W>): Promise<WorkerLeases<W>> {
    const leases = new WorkerLeases(options);
    const workers = await Promise.all(Array.from({ length: count }, () => options.start()));
    leases.idle.push(...workers.map((worker) => ({ worker, uses: 0 })));
    return leases;
  }

  async run<T>(work: (worker: W) => Promise<T>): Promise<T> {
    const { timeoutMs, what } = this.options;
    const slot = await this.acquire();
    let timedOut = false;
    try {
      return await withDeadline(work(slot.worker), timeoutMs, what, () => {
        timedOut = true;
      });
    } finally {
      slot.uses++;
      if (timedOut) this.options.log.warn({ timeoutMs }, `${what} worker timed out; replacing it`);
      else if (slot.uses >= this.options.recycleAfter)
        this.options.log.info({ uses: slot.uses }, `recycling ${what} worker`);
      this.giveBack(slot, timedOut || slot.uses >= this.options.recycleAfter);
    }
  }

  /** Stops lending and stops the idle workers; workers still out are stopped when they come back. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([
      ...this.idle.splice(0).map((slot) => this.options.stop(slot.worker)),
      ...this.replacing,
    ]);
  }

  private async acquire(): Promise<Slot<W>> {
    if (this.closed) throw new Error(`the ${this.options.what} pool is closed`);
    const slot = this.idle.pop();
    if (slot) return slot;
    let grant: (slot: Slot<W>) => void = () => {};
    const granted = new Promise<Slot<W>>((resolve) => {
      grant = resolve;
      this.waiting.push(resolve);
    });
    return withDeadline(granted, this.options.timeoutMs, `waiting for a ${this.options.what} worker`, () => {
      const index = this.waiting.indexOf(grant);
      if (index >= 0) this.waiting.splice(index, 1);
    });
  }

  private release(slot: Slot<W>): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter(slot);
    else this.idle.push(slot);
  }

  /** The caller has its answer already: a replacement starts in the background while the others serve. */
  private giveBack(slot: Slot<W>, replace: boolean): void {
    if (!replace && !this.closed) {
      this.release(slot);
      return;
    }
    const replacing = this.replace(slot).finally(() => this.replacing.delete(replacing));
    this.replacing.add(replacing);
  }

  private async replace(slot: Slot<W>): Promise<void> {
    await this.options.stop(slot.worker).catch(() => {});
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const worker = await this.options.start();
        if (this.closed) await this.options.stop(worker);
        else this.release({ worker, uses: 0 });
        return;
      } catch (error) {
        this.options.log.error(
          { err: error, attempt },
          `could not start a ${this.options.what} worker; trying again`,
        );
        await sleep(Math.min(1000 * 2 ** attempt, 30_000));
      }
    }
  }
}
