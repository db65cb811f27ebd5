/** @module llm/types — the one Provider contract every LLM backend implements (docs/DESIGN.md §6). */
import { AutointerpError } from '../common/errors.ts';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** Logprob options. `echo` asks for the prompt's own logprobs (Completions `echo: true, max_tokens: 0`). */
export interface LogprobOptions {
  /** How many alternatives to return per position (OpenAI caps chat `top_logprobs` at 20). */
  topK: number;
  echo?: boolean;
}

/**
 * One request. Exactly one of `messages` (chat endpoint) or `prompt` (completions endpoint, a flat string) is set;
 * prompt-logprob simulation needs `prompt` because it reads logprobs at known character offsets of it.
 */
export interface LlmRequest {
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens: number;
  temperature?: number;
  logprobs?: LogprobOptions;
  stop?: string[];
  /**
   * Which of n independent samples of the same request this is (sampled simulation): providers ignore it, the
   * response cache keys on it so that n samples are n answers.
   */
  sampleIndex?: number;
  signal?: AbortSignal;
}

/** One token of a response (or of the echoed prompt) with its logprob and the top alternatives at its position. */
export interface TokenLogprob {
  token: string;
  logprob: number | null;
  /** Alternatives at this position, token → natural-log probability. Empty when the server gave none. */
  topLogprobs: Record<string, number>;
  /** Character offset of this token in the echoed prompt + completion (echo) or in the completion text (chat). */
  textOffset: number;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface LlmResult {
  /** Completion text (without the echoed prompt). */
  text: string;
  /** Per-token logprobs when requested: the echoed prompt followed by the completion (echo), or the completion. */
  tokens?: TokenLogprob[];
  usage: LlmUsage;
  /** The model that answered, as the server names it. */
  model: string;
  finishReason: string;
  /** True when the answer came from the response cache. */
  cached: boolean;
  /**
   * The provider's batch id when the answer came from a Batch API (OpenAI Batch, Anthropic Message Batches): it is
   * priced at the batch rate and recorded with the call. Absent for live calls and cache hits.
   */
  batchId?: string;
  /** Options the provider could not honour, said out loud instead of dropped silently. */
  warnings: string[];
  /**
   * With `echo` asked (Completions): whether the answer's text began with the prompt. False: the server ignored echo
   * (Ollama does), so whatever logprobs came back are not the prompt's. Absent when echo was not asked.
   */
  echoed?: boolean;
}

export interface ProviderCapabilities {
  /** Chat endpoint returns `top_logprobs` for completion tokens (simulation mode "chat-logprobs"). */
  chatLogprobs: boolean;
  /**
   * Completions endpoint returns prompt logprobs with `echo` (simulation mode "prompt-logprobs"). `'detect'`: only
   * the server can say (OpenAI-compatible servers: vLLM does, llama.cpp refuses echo, Ollama ignores it); then
   * `echoSupport` remembers what the first prompt-logprob answer showed.
   */
  promptLogprobs: boolean | 'detect';
  /** With `promptLogprobs: 'detect'`: one per provider (base URL + model), shared by every wrapper around it. */
  echoSupport?: EchoSupport;
  /** The provider's API has a Batch API (`autointerp run --batch`; the batch client lives in llm/batch/). */
  batch: boolean;
}

/** Whether a server serves prompt logprobs with Completions `echo`; `reason` says how a refusal showed. */
export type EchoVerdict = { supported: true } | { supported: false; reason: string };

/** What one prompt-logprob answer showed about echo support. */
export type EchoEvidence<T> =
  /** The answer carried the prompt's logprobs; `value` is what the caller made of it. */
  | { kind: 'supported'; value: T }
  /** The server refused echo (an HTTP 400, 404, 405, 415, 422 or 501) or ignored it (no prompt in the answer). */
  | { kind: 'unsupported'; reason: string }
  /** The prompt came back without logprobs: a flaky answer, or a server that never sends them (asked again). */
  | { kind: 'inconclusive'; error: Error };

/**
 * Echo support of one server, detected from the first prompt-logprob answer and remembered for the provider's
 * lifetime (llm/echo-support.ts). No separate probe request: a supporting server's first answer is used as is.
 */
export interface EchoSupport {
  /** The verdict once known; undefined before. */
  readonly known: EchoVerdict | undefined;
  /**
   * Once known, returns the verdict without calling `attempt`. Before, runs `attempt` (a real prompt-logprob
   * request) for one caller at a time — the others wait for its verdict — and remembers what it shows: the caller
   * whose attempt showed support also gets its `value`. An attempt that throws (a transient failure, a deferral)
   * settles nothing and its error is rethrown; an inconclusive one throws its error, until the `inconclusiveLimit`-th
   * (default 3) counts as unsupported.
   */
  settle<T>(attempt: () => Promise<EchoEvidence<T>>): Promise<{ verdict: EchoVerdict; value?: T }>;
}

export interface Provider {
  /** `provider:model`, e.g. `openai-compatible:llama-3-8b` or `baseline:rule-based-v1`. Stored with every result. */
  readonly id: string;
  /**
   * The server its requests go to (the base URL, as llm/endpoint.ts's endpointIdentity names it), part of the
   * response-cache key: the same model name on another server is another model. Undefined for providers that reach
   * no server (the baseline, mocks). Wrappers pass it on.
   */
  readonly endpoint?: string;
  readonly capabilities: ProviderCapabilities;
  /** True for the offline baseline: every row and line of output it produces says so. */
  readonly isBaseline: boolean;
  complete(request: LlmRequest): Promise<LlmResult>;
}

/** An error from an LLM call that records what a retry wrapper needs to decide. */
export class LlmCallError extends AutointerpError {
  override readonly name = 'LlmCallError';
  constructor(
    message: string,
    readonly details: { status?: number; url?: string; retryable: boolean; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
