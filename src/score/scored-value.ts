/** @module score/scored-value — a score that is a number, or null with the reason it is undefined (never NaN). */

export interface ScoredValue {
  value: number | null;
  /** Why `value` is null (e.g. "constant true activations"); null when the value is defined. */
  reason: string | null;
  /** Token positions that entered the score. */
  nTokens: number;
}

export const defined = (value: number, nTokens: number): ScoredValue => ({ value, reason: null, nTokens });
export const undefinedScore = (reason: string, nTokens: number): ScoredValue => ({ value: null, reason, nTokens });
