/** A virtual clock for tests: `now()` and `sleep()` on simulated time, advanced only by `run()` when all work waits. */

interface Timer {
  at: number;
  order: number;
  resolve(): void;
}

export interface VirtualClock {
  now(): number;
  /** Resolves when virtual time reaches now + `milliseconds`; rejects at once when `signal` aborts. */
  sleep(milliseconds: number, signal?: AbortSignal): Promise<void>;
  /** Lets pending work settle, then jumps to the next timer, until `done` settles (at most `maxSteps` jumps). */
  run<T>(done: Promise<T>, maxSteps?: number): Promise<T>;
}

/** Lets every promise chain that can progress without time do so. */
async function settle(): Promise<void> {
  for (let round = 0; round < 5; round++) await new Promise((resolve) => setImmediate(resolve));
}

export function createVirtualClock(): VirtualClock {
  let time = 0;
  let order = 0;
  const timers: Timer[] = [];
  return {
    now: () => time,
    sleep(milliseconds, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
      return new Promise((resolve, reject) => {
        const timer: Timer = { at: time + Math.max(0, milliseconds), order: order++, resolve };
        timers.push(timer);
        signal?.addEventListener(
          'abort',
          () => {
            const index = timers.indexOf(timer);
            if (index >= 0) timers.splice(index, 1);
            reject(signal.reason ?? new Error('aborted'));
          },
          { once: true },
        );
      });
    },
    async run(done, maxSteps = 10_000) {
      let finished = false;
      const outcome = done.finally(() => (finished = true));
      outcome.catch(() => undefined);
      for (let step = 0; step < maxSteps; step++) {
        await settle();
        if (finished) return outcome;
        timers.sort((a, b) => a.at - b.at || a.order - b.order);
        const next = timers.shift();
        if (!next) throw new Error('virtual clock: nothing left to wait for, but the work has not finished');
        time = Math.max(time, next.at);
        next.resolve();
      }
      throw new Error(`virtual clock: not finished after ${maxSteps} steps`);
    },
  };
}
