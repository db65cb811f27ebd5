/**
 * @module llm/retry-after — reads how long a server asks us to wait: `retry-after-ms` (OpenAI) or `Retry-After`
 * (seconds or an HTTP date), as milliseconds.
 */

/** Milliseconds to wait, or undefined when the headers say nothing usable. `now` is for tests. */
export function retryAfterMilliseconds(
  headers: { get(name: string): string | null } | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const milliseconds = headers.get('retry-after-ms');
  if (milliseconds !== null && milliseconds.trim() !== '') {
    const value = Number(milliseconds);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const retryAfter = headers.get('retry-after');
  if (retryAfter === null || retryAfter.trim() === '') return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
