/**
 * @module simulate/expected-value — expected activation from a distribution over the tokens "0".."10"
 * (the reference's `compute_predicted_activation_stats_for_token`).
 */

/** Maps a (whitespace-trimmed) token to its activation value 0..10, or null when it is not one. (Hot: no regex.) */
function activationValueOf(token: string): number | null {
  const trimmed = token.length <= 2 && token.charCodeAt(0) > 32 ? token : token.trim();
  if (trimmed.length === 1) {
    const digit = trimmed.charCodeAt(0) - 48;
    return digit >= 0 && digit <= 9 ? digit : null;
  }
  return trimmed === '10' ? 10 : null;
}

/**
 * The probabilities of the number tokens present, renormalized over them: value → probability.
 * Keys are trimmed of whitespace (" 3" and "3" both mean 3, and add up), which the reference does not do; it
 * makes tokenizers that merge the tab or a space into the number usable.
 */
export function numberDistribution(topLogprobs: Record<string, number>): Map<number, number> {
  const probabilities = new Map<number, number>();
  let total = 0;
  for (const token in topLogprobs) {
    const logprob = topLogprobs[token]!;
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
  // One pass, no allocation (this runs once per simulated token): E = Σ v·p / Σ p.
  let total = 0;
  let weighted = 0;
  for (const token in topLogprobs) {
    const value = activationValueOf(token);
    const logprob = topLogprobs[token]!;
    if (value === null || !Number.isFinite(logprob)) continue;
    const p = Math.exp(logprob);
    total += p;
    weighted += value * p;
  }
  return total > 0 ? weighted / total : null;
}
