/**
 * @module score/classifier/top-tokens — the feature's top tokens, learnt from the explain split (the windows its
 * explanation was written from): the distinct tokens (trimmed, lower-cased) with the highest activation there. They
 * are used to find hard negatives elsewhere; the explain windows themselves are never shown to a judge.
 */
import type { ActivationRecord } from '../../records/types.ts';

/** Lower-cased, whitespace-trimmed token: the form top tokens are compared in. */
export const normalizedToken = (token: string): string => token.trim().toLowerCase();

/** The `count` distinct normalized tokens with the highest activation above `firingThreshold` in `records`. */
export function topTokens(records: readonly ActivationRecord[], count: number, firingThreshold: number): string[] {
  const best = new Map<string, number>();
  for (const record of records) {
    record.tokens.forEach((token, position) => {
      const activation = record.activations[position] ?? 0;
      const key = normalizedToken(token);
      if (activation <= firingThreshold || key.length === 0) return;
      if (activation > (best.get(key) ?? Number.NEGATIVE_INFINITY)) best.set(key, activation);
    });
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, count)
    .map(([token]) => token);
}
