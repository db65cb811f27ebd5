/**
 * @module llm/echo-support — remembers whether an OpenAI-compatible server serves prompt logprobs with Completions
 * `echo` (vLLM does; llama.cpp answers `echo` with an error; Ollama ignores it). There is no separate probe: the
 * first prompt-logprob simulation is the test. Its answer, when it carries the prompt's logprobs, is used as is (a
 * supporting server costs no extra request); a refusal or an ignored echo is remembered and the simulations fall
 * back to chat logprobs; any other error (a prompt too long for the context, a server fault) settles nothing. While
 * nothing is known, one prompt-logprob request is in flight at a time.
 */
import { LlmCallError, type EchoEvidence, type EchoSupport, type EchoVerdict } from './types.ts';

/** HTTP statuses that say the request as such is not served (no Completions endpoint, method or feature). */
const endpointRefusalStatuses = new Set([404, 405, 501]);
/** HTTP statuses of a request refused for its content: a refusal of echo only when the server's message names it. */
const parameterRefusalStatuses = new Set([400, 415, 422]);

/**
 * True for an error that shows the server refuses Completions with `echo` (as opposed to a transient failure, or a
 * request refused for another reason, such as a prompt longer than the model's context: one such error must not
 * turn prompt logprobs off for a whole run). Counts: an endpoint not served (404, 405, 501), or a 400 / 415 / 422
 * whose message names `echo` (llama.cpp: "Only no echo is supported"; OpenAI-style "Unsupported param: echo").
 */
export function refusesEcho(error: unknown): error is LlmCallError {
  if (!(error instanceof LlmCallError) || error.details.status === undefined) return false;
  const { status, url } = error.details;
  if (endpointRefusalStatuses.has(status)) return true;
  const serverMessage = url ? error.message.split(url).slice(1).join(url) || error.message : error.message;
  return parameterRefusalStatuses.has(status) && /\becho\b/i.test(serverMessage);
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
        verdict = {
          supported: false,
          reason: `${evidence.error.message} (${inconclusive} answers so, none with logprobs)`,
        };
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
