/** @module simulate/types — what a simulation is and how it was obtained. */

/**
 * How expected values were read (stored with every simulation; leaderboards never mix modes silently):
 * - `prompt-logprobs`: Completions with `echo`, the prompt's own logprobs at each "unknown" (one call, exact);
 * - `chat-logprobs`: Chat Completions with `top_logprobs`, the model rewriting `token<TAB>value` lines;
 * - `sampled`: no logprobs (Anthropic); integer values written by the model, averaged over n samples.
 */
export type SimulationMode = 'prompt-logprobs' | 'chat-logprobs' | 'sampled';

/** The simulator's expected activation per token on the normalized 0–10 scale; null where it gave no number. */
export interface RecordSimulation {
  tokens: string[];
  /** Expected values, scale "normalized-0-10"; null = missing (no number token in the distribution, or unaligned). */
  expected: (number | null)[];
}

export interface SimulationResult {
  mode: SimulationMode;
  records: RecordSimulation[];
  /** Provider id that simulated (e.g. `baseline:rule-based-v1`). */
  simulator: string;
  promptVersion: string;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** Token positions with a null expected value. */
  missing: number;
}
