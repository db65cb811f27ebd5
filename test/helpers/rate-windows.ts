/** Request-rate helpers for tests and benches: arrivals measured at the fake server. */

/** Most arrivals in any window of `windowMs` (sliding over sorted timestamps). */
export function peakInWindow(arrivals: readonly number[], windowMs: number): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let peak = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}
