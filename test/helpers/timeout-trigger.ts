/**
 * @module test/helpers/timeout-trigger — a fetch that lets a test time out a request explicitly instead of after a
 * time: each request is tagged with an id header, and `timeOut(request)` (given the request as the fake server
 * received it, e.g. from a `hang` fault's `onFault`) aborts that request's fetch. The SDK cannot tell this from its
 * own request timeout (the fetch rejects with an AbortError its caller did not ask for: APIConnectionTimeoutError), so
 * a hung request costs one timed-out attempt, however loaded the machine is, and no healthy request ever times out.
 */
import type { RecordedRequest } from '../../src/llm/fake-server/http-exchange.ts';

/** The header that carries a request's id from the client to the fake server. */
export const requestIdHeader = 'x-test-request-id';

export interface TimeoutTrigger {
  /** The fetch to give the client (or to stub as the global fetch). */
  fetch: typeof fetch;
  /** Times out the request the server received as `request`; false when it is not in flight (or not tagged). */
  timeOut(request: RecordedRequest): boolean;
  /** Requests timed out so far. */
  timedOut(): number;
}

export function createTimeoutTrigger(underlying: typeof fetch = globalThis.fetch): TimeoutTrigger {
  const inFlight = new Map<string, AbortController>();
  let nextId = 0;
  let timedOutCount = 0;
  const tagging = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const id = String(nextId++);
    const controller = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, controller.signal]) : controller.signal;
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(requestIdHeader, id);
    inFlight.set(id, controller);
    try {
      return await underlying(input, { ...init, headers, signal });
    } finally {
      inFlight.delete(id);
    }
  }) as typeof fetch;
  return {
    fetch: tagging,
    timeOut(request) {
      const id = request.headers[requestIdHeader];
      const controller = typeof id === 'string' ? inFlight.get(id) : undefined;
      if (!controller) return false;
      timedOutCount += 1;
      controller.abort();
      return true;
    },
    timedOut: () => timedOutCount,
  };
}
