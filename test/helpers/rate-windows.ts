/** Request-rate helpers for tests and benches: peaks of timestamps in sliding windows, and sends recorded client-side. */

/** Most timestamps (arrivals, sends) in any window of `windowMs` (sliding over sorted timestamps). */
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

/**
 * A fetch that records when each request to `baseUrl` is SENT (performance.now() as fetch is called), then passes
 * it to the real fetch. Counting sends measures the client's rate limiter itself, whatever the transit delays on a
 * loaded machine; arrivals at a server do not (a delayed request can land in a later window with newer ones).
 */
export function recordSends(
  baseUrl: string,
  underlying: typeof fetch = globalThis.fetch,
): { fetch: typeof fetch; times(method?: string): number[] } {
  const sends: { method: string; at: number }[] = [];
  const recording = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const at = performance.now();
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(baseUrl)) {
      const method = (
        init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET')
      ).toUpperCase();
      sends.push({ method, at });
    }
    return underlying(input, init);
  }) as typeof fetch;
  return {
    fetch: recording,
    times: (method) => sends.filter((s) => method === undefined || s.method === method).map((s) => s.at),
  };
}
