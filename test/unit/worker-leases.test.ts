import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { OcrTimeoutError, WorkerLeases } from '../../src/ocr/worker-leases.js';

type FakeWorker = { id: number; stopped: boolean };

/** Workers that do what the test says; records starts and stops. */
function fakeWorkers() {
  const started: FakeWorker[] = [];
  let failStarts = 0;
  return {
    started,
    /** The next `count` starts fail. */
    failNext(count: number) {
      failStarts = count;
    },
    start: async (): Promise<FakeWorker> => {
      if (failStarts-- > 0) throw new Error('the thread did not start');
      const worker = { id: started.length + 1, stopped: false };
      started.push(worker);
      return worker;
    },
    stop: async (worker: FakeWorker) => {
      worker.stopped = true;
    },
  };
}

const open = (workers: ReturnType<typeof fakeWorkers>, count = 1, recycleAfter = 100) =>
  WorkerLeases.open(count, {
    start: workers.start,
    stop: workers.stop,
    timeoutMs: 100,
    recycleAfter,
    log: createLogger('silent'),
    what: 'OCR',
  });

const never = () => new Promise<never>(() => {});

describe('worker leases', () => {
  it('fails a call that outlives its deadline, and replaces the worker that hung', async () => {
    const workers = fakeWorkers();
    const leases = await open(workers);
    const started = Date.now();
    await expect(leases.run(never)).rejects.toBeInstanceOf(OcrTimeoutError);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(workers.started[0]!.stopped).toBe(true);
    expect(await leases.run(async (worker) => worker.id)).toBe(2);
  });

  it('fails a caller that waits for a worker past the deadline, without losing the worker to him', async () => {
    const workers = fakeWorkers();
    const leases = await open(workers);
    let finish: (value: string) => void = () => {};
    const busy = leases.run(() => new Promise<string>((resolve) => (finish = resolve)));
    await expect(leases.run(async () => 'second')).rejects.toThrow(/waiting for a OCR worker/);
    finish('first');
    expect(await busy).toBe('first');
    expect(await leases.run(async (worker) => worker.id)).toBe(1);
    expect(workers.started).toHaveLength(1);
  });

  it('recycles a worker after so many calls', async () => {
    const workers = fakeWorkers();
    const leases = await open(workers, 1, 2);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await leases.run(async (worker) => worker.id));
    expect(ids).toEqual([1, 1, 2, 2, 3]);
    expect(workers.started.slice(0, 2).every((worker) => worker.stopped)).toBe(true);
  });

  it('keeps trying to start a replacement that fails, and serves meanwhile from the others', async () => {
    const workers = fakeWorkers();
    const leases = await open(workers, 2);
    workers.failNext(1);
    let hung = 0;
    await expect(
      leases.run((worker) => {
        hung = worker.id;
        return never();
      }),
    ).rejects.toBeInstanceOf(OcrTimeoutError);
    const other = 3 - hung;
    expect(await leases.run(async (worker) => worker.id)).toBe(other);
    // The replacement starts on the second try, a second later.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(workers.started.map((worker) => worker.id)).toEqual([1, 2, 3]);
    const [a, b] = await Promise.all([
      leases.run(async (worker) => worker.id),
      leases.run(async (worker) => worker.id),
    ]);
    expect([a, b].sort()).toEqual([other, 3].sort());
  });

  it('stops idle workers on close, and a worker still out when it comes back', async () => {
    const workers = fakeWorkers();
    const leases = await open(workers, 2);
    let finish: () => void = () => {};
    let lent: FakeWorker | undefined;
    const out = leases.run((worker) => {
      lent = worker;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    await leases.close();
    expect(workers.started.filter((worker) => worker.stopped)).toEqual(
      workers.started.filter((worker) => worker !== lent),
    );
    expect(lent?.stopped).toBe(false);
    finish();
    await out;
    expect(workers.started.every((worker) => worker.stopped)).toBe(true);
    await expect(leases.run(async () => 1)).rejects.toThrow(/closed/);
  });
});
