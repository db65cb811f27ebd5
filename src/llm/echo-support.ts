/**
 * @module llm/echo-support — remembers whether an OpenAI-compatible server serves prompt logprobs with Completions
 * `echo` (vLLM does; llama.cpp answers `echo` with an error; Ollama ignores it). There is no separate probe: the
 * first prompt-logprob simulation is the test. Its answer, when it carries the prompt's logprobs, is used as is (a
 * supporting server costs no extra request); a refusal or an ignored echo is remembered and the simulations fall
 * back to chat logprobs. While nothing is known, one prompt-logprob request is in flight at a time.
 */
import { LlmCallError, type EchoEvidence, type EchoSupport, type EchoVerdict } from './types.ts';

/** HTTP statuses that say "this server does not do that": echo (or the Completions endpoint) is not served. */
const refusalStatuses = new Set([400, 404, 405, 415, 422, 501]);

/** True for an error that refuses a Completions request with `echo` (as opposed to a transient failure). */
export function refusesEcho(error: unknown): error is LlmCallError {
  return error instanceof LlmCallError && error.details.status !== undefined && refusalStatuses.has(error.details.status);
}

export interface EchoSupportOptions {
  /** Inconclusive answers (the prompt echoed without logprobs) before a verdict that count as unsupported. Default 3. */
  inconclusiveLimit?: number;
}

export function createEchoSupport(options: EchoSupportOptions = {}): EchoSupport {
  const inconclusiveLimit = options.inconclusiveLimit ?? 3;
  let verdict: EchoVerdict | undefined;
  let inconclusive = 0;
  /** The tail of the queue of attempts: each starts when the one before it has ended. */
  let queue: Promise<unknown> = Promise.resolve();

  async function run<T>(attempt: () => Promise<EchoEvidence<T>>): Promise<{ verdict: EchoVerdict; value?: T }> {
    if (verdict) return { verdict };
    const evidence = await attempt(); // attempts are queued: nothing else settles the verdict meanwhile
    switch (evidence.kind) {
      case 'supported':
        verdict = { supported: true };
        return { verdict, value: evidence.value };
      case 'unsupported':
        verdict = { supported: false, reason: evidence.reason };
        return { verdict };
      case 'inconclusive':
        inconclusive += 1;
        if (inconclusive < inconclusiveLimit) throw evidence.error;
        verdict = { supported: false, reason: `${evidence.error.message} (${inconclusive} answers so, none with logprobs)` };
        return { verdict };
    }
  }

  return {
    get known() {
      return verdict;
    },
    settle(attempt) {
      if (verdict) return Promise.resolve({ verdict });
      const turn = queue.then(() => run(attempt));
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}
