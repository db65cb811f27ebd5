/**
 * @module llm/retry — a Provider wrapper that retries retryable failures (LlmCallError.details.retryable: 429, 5xx,
 * timeouts, connection resets, unparsable bodies) with exponential backoff and full jitter, waits at least what the
 * server asks (`Retry-After`), never retries 400/401/404, stops at once on abort, and ends in a RetryError that
 * lists every attempt.
 */
import { mulberry32, type RandomSource } from '../common/random.ts';
import type { LlmResult, Provider } from './types.ts';
import { LlmCallError } from './types.ts';
import { wrapProvider } from './wrap-provider.ts';

export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  maxAttempts?: number;
  /** Backoff cap of the first retry, in milliseconds; doubled per retry. Default 500. */
  baseDelayMs?: number;
  /** Largest backoff (before jitter), in milliseconds. Default 30 000. */
  maxDelayMs?: number;
  /** Uniform source for the jitter. Default: a seeded generator (seed 1). */
  random?: RandomSource;
  /** Called before each wait (for logs and rate adaptation). */
  onRetry?(info: { attempt: number; delayMs: number; error: LlmCallError }): void;
  /** Sleep (tests). Default: an abortable timer. */
  sleep?(milliseconds: number, signal: AbortSignal | undefined): Promise<void>;
}

/** One failed attempt, as RetryError lists it. */
export interface FailedAttempt {
  attempt: number;
  message: string;
  status?: number;
  retryable: boolean;
  /** How long we waited after it (0 for the last). */
  delayMs: number;
}

/** Every attempt failed (or the last failure was not retryable): the message lists each attempt. */
export class RetryError extends LlmCallError {
  readonly attempts: FailedAttempt[];
  constructor(attempts: FailedAttempt[], last: LlmCallError, note = '') {
    const lines = attempts.map(
      (a) => `  attempt ${a.attempt}: ${a.message}${a.delayMs > 0 ? ` (then waited ${Math.round(a.delayMs)} ms)` : ''}`,
    );
    const head = `failed after ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}${note ? ` (${note})` : ''}`;
    super(`${head}:\n${lines.join('\n')}`, { ...last.details, retryable: false }, { cause: last });
    this.attempts = attempts;
  }
}

/** Resolves after `milliseconds`, or rejects at once when `signal` aborts. */
export function abortableSleep(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const asCallError = (error: unknown): LlmCallError =>
  error instanceof LlmCallError
    ? error
    : new LlmCallError(error instanceof Error ? error.message : String(error), { retryable: false }, { cause: error });

/** Delay before retry number `retry` (1-based): full jitter over the capped exponential, at least Retry-After. */
export function backoffDelay(
  retry: number,
  error: LlmCallError,
  options: Required<Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>>,
  random: RandomSource,
): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (retry - 1));
  const jittered = random() * cap;
  const asked = error.details.retryAfterMs;
  return asked !== undefined ? Math.max(asked, jittered) : jittered;
}

/** Runs `attemptOnce` until it succeeds, a failure is not retryable, attempts run out, or `signal` aborts. */
export async function retryCall<T>(
  attemptOnce: () => Promise<T>,
  signal: AbortSignal | undefined,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const delays = { baseDelayMs: options.baseDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 30_000 };
  const random = options.random ?? mulberry32(1);
  const sleep = options.sleep ?? abortableSleep;
  const attempts: FailedAttempt[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce();
    } catch (caught) {
      const error = asCallError(caught);
      const record: FailedAttempt = {
        attempt,
        message: error.message,
        retryable: error.details.retryable,
        delayMs: 0,
        ...(error.details.status !== undefined ? { status: error.details.status } : {}),
      };
      attempts.push(record);
      if (!error.details.retryable || attempt >= maxAttempts || signal?.aborted) {
        if (attempts.length === 1) throw error;
        throw new RetryError(attempts, error);
      }
      record.delayMs = backoffDelay(attempt, error, delays, random);
      options.onRetry?.({ attempt, delayMs: record.delayMs, error });
      try {
        await sleep(record.delayMs, signal);
      } catch {
        record.delayMs = 0;
        throw new RetryError(attempts, error, 'aborted while waiting to retry');
      }
    }
  }
}

/** The same provider, retrying retryable failures (see the module comment). */
export function withRetry(provider: Provider, options: RetryOptions = {}): Provider {
  const random = options.random ?? mulberry32(1);
  return wrapProvider(provider, {
    async wrapComplete({ request, complete }): Promise<LlmResult> {
      let attempts = 0;
      const result = await retryCall(
        () => {
          attempts += 1;
          return complete();
        },
        request.signal,
        { ...options, random },
      );
      return attempts > 1 ? { ...result, warnings: [...result.warnings, `answered on attempt ${attempts}`] } : result;
    },
  });
}
