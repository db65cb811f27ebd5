/**
 * @module simulate/expected-value — expected activation from a distribution over the tokens "0".."10"
 * (the reference's `compute_predicted_activation_stats_for_token`).
 */

/** Maps a (whitespace-trimmed) token to its activation value 0..10, or null when it is not one. */
function activationValueOf(token: string): number | null {
  const trimmed = token.trim();
  if (!/^(?:[0-9]|10)$/.test(trimmed)) return null;
  return Number(trimmed);
}

/**
 * The probabilities of the number tokens present, renormalized over them: value → probability.
 * Keys are trimmed of whitespace (" 3" and "3" both mean 3, and add up), which the reference does not do; it
 * makes tokenizers that merge the tab or a space into the number usable.
 */
export function numberDistribution(topLogprobs: Record<string, number>): Map<number, number> {
  const probabilities = new Map<number, number>();
  let total = 0;
  for (const [token, logprob] of Object.entries(topLogprobs)) {
    const value = activationValueOf(token);
    if (value === null || !Number.isFinite(logprob)) continue;
    const p = Math.exp(logprob);
    probabilities.set(value, (probabilities.get(value) ?? 0) + p);
    total += p;
  }
  if (total <= 0) return new Map();
  for (const [value, p] of probabilities) probabilities.set(value, p / total);
  return probabilities;
}

/** `E = Σ i·p_i` over "0".."10" renormalized; null when no number token is among the alternatives. */
export function expectedValueFromTopLogprobs(topLogprobs: Record<string, number>): number | null {
  const distribution = numberDistribution(topLogprobs);
  if (distribution.size === 0) return null;
  let expected = 0;
  for (const [value, p] of distribution) expected += value * p;
  return expected;
}
