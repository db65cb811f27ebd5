/** @module llm/types — the one Provider contract every LLM backend implements (DESIGN §6). */

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
}

export interface ProviderCapabilities {
  /** Chat endpoint returns `top_logprobs` for completion tokens (simulation mode "chat-logprobs"). */
  chatLogprobs: boolean;
  /** Completions endpoint returns prompt logprobs with `echo` (simulation mode "prompt-logprobs"). */
  promptLogprobs: boolean;
  /** The provider's API has a Batch API (`autointerp run --batch`; the batch client lives in llm/batch/). */
  batch: boolean;
}

export interface Provider {
  /** `provider:model`, e.g. `openai-compatible:llama-3-8b` or `baseline:rule-based-v1`. Stored with every result. */
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  /** True for the offline baseline: every row and line of output it produces says so. */
  readonly isBaseline: boolean;
  complete(request: LlmRequest): Promise<LlmResult>;
}

/** An error from an LLM call that records what a retry wrapper needs to decide. */
export class LlmCallError extends Error {
  override readonly name = 'LlmCallError';
  constructor(
    message: string,
    readonly details: { status?: number; url?: string; retryable: boolean; retryAfterMs?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
