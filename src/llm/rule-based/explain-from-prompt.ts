/**
 * @module llm/rule-based/explain-from-prompt — the rule-based explainer: reads the LAST neuron block of an explain
 * prompt (its `token<TAB>value` lines over all records, without the zeros-filtered repetition), ranks tokens by mean
 * shown activation and names the top ones as quoted tokens: ` the tokens "the", "a" and "an".` Deterministic.
 */
import { normalizeToken } from './interpret-explanation.ts';
import { parseNeuronBlocks } from './prompt-structure.ts';

/** A distinct (normalized) token of the last block with its mean shown activation. */
export interface TokenActivationSummary {
  token: string;
  meanActivation: number;
  count: number;
}

export interface ExplainFromPromptOptions {
  /** How many tokens the explanation names at most. Default 3. */
  maxTokensNamed?: number;
}

/** The answer when no token of the last block has a positive mean activation. */
export const nothingActiveExplanation = ' nothing in particular; it never fires.';

/**
 * Distinct tokens of the last neuron block, sorted by mean activation (desc), then count (desc), then text.
 * Tokens that are blank after trimming and values that are not numbers are skipped.
 */
export function summarizeLastNeuronActivations(promptText: string): TokenActivationSummary[] {
  const last = parseNeuronBlocks(promptText).at(-1);
  const totals = new Map<string, { sum: number; count: number }>();
  for (const record of last?.records ?? []) {
    for (const line of record.lines) {
      const value = Number(line.value);
      const token = normalizeToken(line.token);
      if (!Number.isFinite(value) || token.length === 0) continue;
      const total = totals.get(token) ?? { sum: 0, count: 0 };
      total.sum += value;
      total.count += 1;
      totals.set(token, total);
    }
  }
  return [...totals.entries()]
    .map(([token, total]) => ({ token, meanActivation: total.sum / total.count, count: total.count }))
    .sort(
      (a, b) =>
        b.meanActivation - a.meanActivation || b.count - a.count || (a.token < b.token ? -1 : a.token > b.token ? 1 : 0),
    );
}

/** Quotes a token so that `interpretExplanation` reads it back (single quotes when it holds a double quote). */
function quote(token: string): string {
  return token.includes('"') ? `'${token}'` : `"${token}"`;
}

/** ` the token "x".` / ` the tokens "x" and "y".` / ` the tokens "x", "y" and "z".` */
export function formatTokenListExplanation(tokens: readonly string[]): string {
  if (tokens.length === 0) return nothingActiveExplanation;
  const quoted = tokens.map(quote);
  if (quoted.length === 1) return ` the token ${quoted[0]}.`;
  return ` the tokens ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}.`;
}

/** The explainer's completion for an explain prompt (to follow "…the main thing this neuron does is find"). */
export function explainFromPrompt(promptText: string, options: ExplainFromPromptOptions = {}): string {
  const maxTokensNamed = options.maxTokensNamed ?? 3;
  const named = summarizeLastNeuronActivations(promptText)
    .filter((summary) => summary.meanActivation > 0)
    .slice(0, maxTokensNamed)
    .map((summary) => summary.token);
  return formatTokenListExplanation(named);
}
