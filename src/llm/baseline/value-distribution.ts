/**
 * @module llm/baseline/value-distribution — turns a predicted activation v ∈ [0, 10] into the next-token
 * distribution a calibrated LLM simulator would show at a value position: most mass split between floor(v) and
 * ceil(v) (so the expected value over "0".."10" is ≈ v), a little smoothing over the other numbers, and some
 * non-number alternatives ("unknown", …) so that parsers must renormalize over the number tokens.
 */

export interface ValueDistributionOptions {
  /** Probability spread over the numbers other than floor(v) and ceil(v), decaying with distance. Default 0.04. */
  smoothing?: number;
  /** Probability of the non-number alternatives together. Default 0.06. */
  junkMass?: number;
}

/** One alternative at a value position. */
export interface ValueAlternative {
  /** "0".."10" or a non-number alternative. */
  text: string;
  /** The number for "0".."10"; null for a non-number alternative. */
  value: number | null;
  probability: number;
}

/** Non-number alternatives and their share of the junk mass. */
const junkAlternatives: ReadonlyArray<{ text: string; share: number }> = [
  { text: 'unknown', share: 0.6 },
  { text: ' unknown', share: 0.25 },
  { text: '?', share: 0.15 },
];

/** The full distribution (numbers 0–10 and junk), sorted by probability (desc), ties by text. Sums to 1. */
export function valueDistribution(prediction: number, options: ValueDistributionOptions = {}): ValueAlternative[] {
  const smoothing = options.smoothing ?? 0.04;
  const junkMass = options.junkMass ?? 0.06;
  const value = Math.min(10, Math.max(0, Number.isFinite(prediction) ? prediction : 0));
  const low = Math.floor(value);
  const high = Math.ceil(value);
  const fraction = value - low;
  const numberMass = 1 - junkMass;
  const peakMass = numberMass * (1 - smoothing);
  const otherWeights = new Map<number, number>();
  let otherTotal = 0;
  for (let number = 0; number <= 10; number += 1) {
    if (number === low || number === high) continue;
    const weight = Math.exp(-Math.abs(number - value));
    otherWeights.set(number, weight);
    otherTotal += weight;
  }
  const alternatives: ValueAlternative[] = [];
  for (let number = 0; number <= 10; number += 1) {
    let probability: number;
    if (low === high && number === low) probability = peakMass;
    else if (number === low) probability = peakMass * (1 - fraction);
    else if (number === high) probability = peakMass * fraction;
    else probability = (numberMass * smoothing * (otherWeights.get(number) ?? 0)) / otherTotal;
    alternatives.push({ text: String(number), value: number, probability });
  }
  for (const junk of junkAlternatives) {
    alternatives.push({ text: junk.text, value: null, probability: junkMass * junk.share });
  }
  return alternatives.sort((a, b) => b.probability - a.probability || a.text.localeCompare(b.text));
}

/** Expected value over the number alternatives, renormalized over them (what a simulator parser computes). */
export function expectedValue(alternatives: readonly ValueAlternative[]): number | null {
  let mass = 0;
  let sum = 0;
  for (const alternative of alternatives) {
    if (alternative.value === null) continue;
    mass += alternative.probability;
    sum += alternative.value * alternative.probability;
  }
  return mass > 0 ? sum / mass : null;
}

/**
 * The top-k alternatives as token → natural-log probability, each text prefixed with `prefix` (the part of the
 * response token before the value, e.g. "\t" when the tokenizer merged it with the value).
 */
export function topLogprobsOf(
  alternatives: readonly ValueAlternative[],
  topK: number,
  prefix = '',
): Record<string, number> {
  const top: Record<string, number> = {};
  for (const alternative of alternatives.slice(0, Math.max(0, topK))) {
    top[prefix + alternative.text] = Math.log(alternative.probability);
  }
  return top;
}
