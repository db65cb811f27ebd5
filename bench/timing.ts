/** @module bench/timing — the benches' stopwatch: the wall time of one synchronous run, and the median of several. */

/** Milliseconds `run` took (performance.now()). */
export function timeIt(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** The median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
