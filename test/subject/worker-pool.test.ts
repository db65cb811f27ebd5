import { describe, expect, it } from 'vitest';
import { WorkerPool, WorkerPoolError } from '../../src/subject/worker-pool.ts';
import type { PoolWorkerRequest } from '../fixtures/pool-worker.ts';

const entry = new URL('../fixtures/pool-worker.ts', import.meta.url);
const start = (size: number, data: unknown = {}) =>
  WorkerPool.start<PoolWorkerRequest, number | Float32Array, string>({ entry, size, data, label: 'test worker' });

describe('WorkerPool (issue 19 item 4)', () => {
  it('answers requests on the chosen worker, moves typed arrays both ways, and says what each worker started', async () => {
    const pool = await start(2);
    try {
      expect(pool.info).toEqual(['doubler', 'doubler']);
      expect(
        await Promise.all([pool.run(0, { kind: 'double', value: 2 }), pool.run(1, { kind: 'double', value: 5 })]),
      ).toEqual([4, 10]);
      const values = Float32Array.of(1, 2, 3);
      const doubled = await pool.run(1, { kind: 'double-array', values }, [values.buffer]);
      expect(Array.from(doubled as Float32Array)).toEqual([2, 4, 6]);
      expect(values.length).toBe(0); // moved to the worker, not copied
    } finally {
      await pool.close();
    }
  });

  it('a request that throws rejects that request only; the worker goes on', async () => {
    const pool = await start(1);
    try {
      await expect(pool.run(0, { kind: 'throw' })).rejects.toThrow(/test worker 1 of 1: this request is refused/);
      expect(await pool.run(0, { kind: 'double', value: 4 })).toBe(8);
    } finally {
      await pool.close();
    }
  });

  it('a worker that exits or throws outside a request rejects what it holds and every later request: nothing hangs', async () => {
    const pool = await start(2);
    try {
      const queued = pool.run(0, { kind: 'double', value: 1 });
      const exiting = pool.run(0, { kind: 'exit' });
      const behind = pool.run(0, { kind: 'double', value: 3 });
      expect(await queued).toBe(2);
      await expect(exiting).rejects.toThrow(/test worker 1 of 2 exited \(code 3\)/);
      await expect(behind).rejects.toThrow(WorkerPoolError);
      await expect(pool.run(0, { kind: 'double', value: 1 })).rejects.toThrow(/exited \(code 3\)/);

      await expect(pool.run(1, { kind: 'uncaught' })).rejects.toThrow(
        /test worker 2 of 2 failed: a failure outside any request/,
      );
      await expect(pool.run(1, { kind: 'double', value: 1 })).rejects.toThrow(/failed: a failure outside any request/);
    } finally {
      await pool.close();
    }
  });

  it('a worker whose start fails rejects the start with its reason; a closed pool refuses requests', async () => {
    await expect(start(2, { failStart: true })).rejects.toThrow(
      /test worker [12] of 2 failed to start: no weights for this worker/,
    );
    await expect(start(0)).rejects.toThrow(/must be a positive integer, got 0/);
    const pool = await start(1);
    await pool.close();
    await expect(pool.run(0, { kind: 'double', value: 1 })).rejects.toThrow(/the pool is closed/);
  });
});
