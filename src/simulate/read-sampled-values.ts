/**
 * @module simulate/read-sampled-values — simulation without logprobs (mode `sampled`, e.g. Anthropic): the model
 * writes an integer 0–10 for each token; each sample's lines are aligned to the target tokens like chat answers,
 * and a token's expected value is the mean over the samples that gave it one (null when none did).
 */
import { readAnswerValues } from './read-chat-logprobs.ts';

/** Values of one sampled answer, per target record, per token (null where the answer has none). */
export function readSampledValues(completion: string, targets: readonly (readonly string[])[]): (number | null)[][] {
  return readAnswerValues(completion, targets, (text) => {
    const value = Number(text);
    return Number.isInteger(value) && value >= 0 && value <= 10 ? value : null;
  });
}

/** Mean over samples per token, ignoring samples without a value there. */
export function averageSamples(
  samples: readonly (readonly (readonly (number | null)[])[])[],
  targets: readonly (readonly string[])[],
): (number | null)[][] {
  return targets.map((tokens, r) =>
    tokens.map((_, t) => {
      let sum = 0;
      let count = 0;
      for (const sample of samples) {
        const value = sample[r]?.[t];
        if (value !== null && value !== undefined) {
          sum += value;
          count += 1;
        }
      }
      return count > 0 ? sum / count : null;
    }),
  );
}
