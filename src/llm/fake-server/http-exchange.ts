/**
 * @module llm/fake-server/http-exchange — the fake server's view of one HTTP exchange (the request as received, the
 * response before it is written, the interceptor around it), shared by the server, the fault mix and the Batch APIs.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A request as the server received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/completions`. */
  path: string;
  /** Node's lower-cased header map (holds the Authorization header: test memory only, never logged). */
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
  rawBody: string;
  /** Arrival time in milliseconds since the epoch, sub-millisecond (rate-limit checks). */
  receivedAtMs: number;
}

/** A response before it is written: status, headers and the raw body (any string, so faults can break it). */
export interface FakeHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface FakeRequestContext {
  request: RecordedRequest;
  /** 0-based arrival order of this request. */
  index: number;
  /** Aborted when the client goes away or the server closes (a hanging interceptor should wait on it). */
  signal: AbortSignal;
}

/**
 * Wraps the handling of one request: answer directly (e.g. a 429), call `next()` for the normal answer and change
 * it (truncate, corrupt), delay, or wait on `context.signal` to hang. Nothing is written after the signal aborts.
 */
export type FakeRequestInterceptor = (
  context: FakeRequestContext,
  next: () => Promise<FakeHttpResponse>,
) => Promise<FakeHttpResponse>;
