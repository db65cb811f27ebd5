/**
 * @module llm/rate-limiter — admission control in front of a provider: at most `concurrency` requests in flight
 * (p-limit), at most `requestsPerMinute` requests and `tokensPerMinute` tokens in any sliding window (a log of
 * admissions, so the limit holds for every window, not only on average; a request counts from its start until a
 * window after its end, so the limit holds as the SERVER measures it, whatever the transit delays). Tokens are estimated before
 * the call (prompt tokens + the completion limit) and replaced by the real usage after it. On a 429 the limiter
 * pauses every request it has not sent yet — new ones and retries alike — for the server's Retry-After (1 s when it
 * names none), and no longer than that unless a limit is also reached; and it lowers its own rate (multiplicative
 * decrease, additive increase back to the limit on successes). Requests already on the wire when the 429 arrives
 * cannot be recalled.
 */
import pLimit from 'p-limit';
import { abortableSleep } from './retry.ts';
import type { LlmRequest, LlmResult, LlmUsage, Provider } from './types.ts';
import { LlmCallError } from './types.ts';
import { wrapProvider } from './wrap-provider.ts';

export interface RateLimitOptions {
  /** Requests in flight at once. Default: unlimited. */
  concurrency?: number;
  /** Request starts per window. Default: unlimited. */
  requestsPerMinute?: number;
  /** Prompt + completion tokens per window. Default: unlimited. */
  tokensPerMinute?: number;
  /** The window, in milliseconds. Default 60 000 (a minute); tests shorten it. */
  windowMs?: number;
  /** Lowest fraction of the limits the limiter adapts down to after 429s. Default 0.5. */
  minRateFactor?: number;
  /** Clock (tests). Default performance.now. */
  now?(): number;
  /** Sleep on the same clock (tests). Default: an abortable timer. */
  sleep?(milliseconds: number, signal: AbortSignal | undefined): Promise<void>;
}

export interface RateLimiterStats {
  inFlight: number;
  waiting: number;
  /** Current fraction of the configured limits in use (1 = full). */
  rateFactor: number;
}

interface Admission {
  at: number;
  tokens: number;
  /** When the request ended (undefined while in flight). */
  endedAt?: number;
}

/** Shared admission control; one per API (key, server) so explainer and simulator count together. */
export class RateLimiter {
  private readonly admissions: Admission[] = [];
  private readonly limitConcurrency: ReturnType<typeof pLimit>;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly sleep: (milliseconds: number, signal: AbortSignal | undefined) => Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private pausedUntil = 0;
  private waitingCount = 0;
  private readonly wakers = new Set<() => void>();
  private inFlightCount = 0;
  rateFactor = 1;

  constructor(readonly options: RateLimitOptions = {}) {
    this.limitConcurrency = pLimit(options.concurrency ?? Number.POSITIVE_INFINITY);
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? abortableSleep;
  }

  stats(): RateLimiterStats {
    return { inFlight: this.inFlightCount, waiting: this.waitingCount, rateFactor: this.rateFactor };
  }

  /** Runs `call` once admitted; `estimatedTokens` is held in the window until `actualTokens` of the result replace it. */
  run<T>(
    estimatedTokens: number,
    call: () => Promise<T>,
    actualTokens: (value: T) => number | undefined,
    signal?: AbortSignal,
  ): Promise<T> {
    this.waitingCount += 1;
    return this.limitConcurrency(async () => {
      let admission: Admission;
      try {
        admission = await this.admit(estimatedTokens, signal);
      } finally {
        this.waitingCount -= 1;
      }
      this.inFlightCount += 1;
      try {
        const value = await call();
        const actual = actualTokens(value);
        if (actual !== undefined) admission.tokens = actual;
        this.rateFactor = Math.min(1, this.rateFactor + 0.02);
        return value;
      } catch (error) {
        if (error instanceof LlmCallError && error.details.status === 429)
          this.onRateLimited(error.details.retryAfterMs);
        throw error;
      } finally {
        this.inFlightCount -= 1;
        this.markEnded(admission);
      }
    });
  }

  /** The server said 429: pause everyone for its Retry-After and slow down. */
  onRateLimited(retryAfterMs: number | undefined): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + (retryAfterMs ?? 1000));
    this.rateFactor = Math.max(this.options.minRateFactor ?? 0.5, this.rateFactor * 0.8);
  }

  /** Admissions are serialized (first come, first admitted), so the window check and the push are atomic. */
  private admit(tokens: number, signal: AbortSignal | undefined): Promise<Admission> {
    const admitted = this.queue.then(() => this.waitForRoom(tokens, signal));
    this.queue = admitted.then(
      () => undefined,
      () => undefined,
    );
    return admitted;
  }

  private async waitForRoom(tokens: number, signal: AbortSignal | undefined): Promise<Admission> {
    const { requestsPerMinute, tokensPerMinute } = this.options;
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      // A request leaves the window `windowMs` after it ENDED: the server saw it somewhere between its start and its
      // end, so counting it until end + window keeps every server-side window within the limit, whatever the transit.
      const live = this.admissions.filter((a) => a.endedAt === undefined || a.endedAt > now - this.windowMs);
      this.admissions.length = 0;
      this.admissions.push(...live);
      const paused = now < this.pausedUntil;
      let windowFull =
        requestsPerMinute !== undefined && live.length >= Math.max(1, Math.floor(requestsPerMinute * this.rateFactor));
      if (!windowFull && tokensPerMinute !== undefined && live.length > 0) {
        windowFull = live.reduce((sum, a) => sum + a.tokens, 0) + tokens > tokensPerMinute * this.rateFactor;
      }
      if (!paused && !windowFull) {
        const admission: Admission = { at: now, tokens };
        this.admissions.push(admission);
        return admission;
      }
      // Wake when the pause is over and (if the window is full) the oldest ended request has left it; a request
      // that ends wakes every waiter earlier. The window's expiries matter only while the window is full: a pause
      // alone lasts the Retry-After, not a window.
      const pauseLeft = paused ? this.pausedUntil - now : 0;
      const expiries = live.filter((a) => a.endedAt !== undefined).map((a) => a.endedAt! + this.windowMs - now);
      const windowLeft = !windowFull ? 0 : expiries.length > 0 ? Math.min(...expiries) : Number.POSITIVE_INFINITY;
      const waitMs = Math.max(pauseLeft, windowLeft);
      await this.sleepUntilChange(
        Number.isFinite(waitMs) ? Math.max(1, Math.ceil(waitMs) + 1) : Math.max(1000, Math.ceil(pauseLeft) + 1),
        signal,
      );
    }
  }

  /** Sleeps `milliseconds` or until a request ends, whichever is first. */
  private async sleepUntilChange(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
    let wake!: () => void;
    const ended = new Promise<void>((resolve) => (wake = resolve));
    this.wakers.add(wake);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race([this.sleep(milliseconds, controller.signal), ended]);
    } finally {
      this.wakers.delete(wake);
      signal?.removeEventListener('abort', onAbort);
      controller.abort();
      signal?.throwIfAborted();
    }
  }

  private markEnded(admission: Admission): void {
    admission.endedAt = this.now();
    for (const wake of this.wakers) wake();
  }
}

/** A cheap upper-bound-ish token estimate of a request: prompt characters / 3 plus the completion limit. */
export function estimateRequestTokens(request: LlmRequest): number {
  const characters =
    request.prompt !== undefined
      ? request.prompt.length
      : (request.messages ?? []).reduce((n, m) => n + m.content.length + 4, 0);
  return Math.ceil(characters / 3) + Math.max(0, request.maxTokens);
}

const usageTokens = (usage: LlmUsage) => usage.promptTokens + usage.completionTokens;

/** The same provider, every call admitted by `limiter` first. */
export function withRateLimit(
  provider: Provider,
  limiter: RateLimiter,
  estimate: (request: LlmRequest) => number = estimateRequestTokens,
): Provider {
  return wrapProvider(provider, {
    wrapComplete: ({ request, complete }): Promise<LlmResult> =>
      limiter.run(
        estimate(request),
        complete,
        (result) => (result.cached ? 0 : usageTokens(result.usage)),
        request.signal,
      ),
  });
}
