/**
 * @module bench/zero-latency-providers — the explainer and simulator of the overhead benches (pipeline-overhead,
 * scale): mock providers that answer at once (the explanation names " w1"; the simulation echoes the prompt with 10
 * on " w1" and 0 elsewhere), without a request log (keeping every prompt alive would make a bench measure the garbage
 * collector copying it), timed so that the bench can subtract the time spent inside them from the pipeline's.
 */
import { createMockProvider, textResult } from '../src/llm/mock-provider.ts';
import type { LlmRequest, LlmResult, Provider } from '../src/llm/types.ts';
import { echoResult } from '../test/helpers/echo-mock.ts';

export interface ZeroLatencyProviders {
  explainer: Provider;
  simulator: Provider;
  /** Milliseconds spent inside the providers' `complete` since creation or the last `resetTime`. */
  providerMs(): number;
  resetTime(): void;
}

export function createZeroLatencyProviders(): ZeroLatencyProviders {
  let providerMs = 0;
  const timed = (provider: Provider): Provider => ({
    ...provider,
    complete(request: LlmRequest): Promise<LlmResult> {
      const started = performance.now();
      const result = provider.complete(request);
      providerMs += performance.now() - started;
      return result;
    },
  });
  return {
    explainer: timed(
      createMockProvider({
        model: 'zero-latency',
        recordRequests: false,
        respond: () => textResult(' tokens like " w1".'),
      }),
    ),
    simulator: timed(
      createMockProvider({
        model: 'zero-latency',
        recordRequests: false,
        respond: (request) => echoResult(request.prompt ?? '', (token) => (token === ' w1' ? 10 : 0)),
      }),
    ),
    providerMs: () => providerMs,
    resetTime: () => {
      providerMs = 0;
    },
  };
}
