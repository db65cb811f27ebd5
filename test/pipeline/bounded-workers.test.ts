import { describe, expect, it } from 'vitest';
import { forEachBounded } from '../../src/pipeline/bounded-workers.ts';

describe('forEachBounded', () => {
  it('never has more than `concurrency` tasks in flight and does every item once, in order of start', async () => {
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    await forEachBounded(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (item) => {
        started.push(item);
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight -= 1;
      },
    );
    expect(most).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a task that throws: no new item starts, those in flight end, then it rejects with that error (it always settles)', async () => {
    const started: number[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    let ended = 0;
    const run = forEachBounded(
      Array.from({ length: 100 }, (_, i) => i),
      4,
      async (item) => {
        started.push(item);
        if (item === 0) {
          await slow;
          ended += 1;
          return;
        }
        if (item === 2) throw new Error('disk full');
      },
    );
    const outcome = run.catch((error: unknown) => error);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await outcome).toEqual(new Error('disk full'));
    expect(ended).toBe(1); // the task in flight finished before the rejection
    expect(started.length).toBeLessThan(10);
  });

  it('yields to the event loop before each item, so a stop asked by a timer or signal is seen between synchronous tasks', async () => {
    let stop = false;
    let done = 0;
    await forEachBounded(
      Array.from({ length: 1000 }, (_, i) => i),
      1,
      async () => {
        done += 1; // synchronous work: no await that reaches the event loop
        if (done === 1) setImmediate(() => (stop = true)); // runs only when the event loop gets a turn (as a signal handler)
      },
      () => stop,
    );
    expect(done).toBe(1);
  });
});
