/**
 * @module explain/contrast-windows — contrastive examples for the explain prompt (`run --explain-negatives K`):
 * windows where the feature's top tokens occur but it does not fire, so the explainer can tell "the token" from "the
 * token in this context". They are cut from the records given — the pipeline gives the explain split only, so no
 * calibration or score window ever reaches the explainer — around an occurrence of a top token, and only where no
 * token of the window fires.
 */
import { maxActivation, normalizeActivation } from '../records/normalize.ts';
import type { ActivationRecord } from '../records/types.ts';

/** Tokens on each side of the top token in a contrast window. */
export const CONTRAST_WINDOW_RADIUS = 4;
/** How many of the strongest-firing distinct tokens count as the feature's top tokens. */
export const CONTRAST_TOP_TOKENS = 5;

/** The distinct tokens with the highest activation in `records` (0–10 scale ≥ 1), strongest first. */
export function topTokens(records: readonly ActivationRecord[], count = CONTRAST_TOP_TOKENS): string[] {
  const scale = maxActivation(records);
  const best = new Map<string, number>();
  for (const record of records) {
    record.tokens.forEach((token, index) => {
      const value = normalizeActivation(record.activations[index] ?? 0, scale);
      if (value >= 1 && value > (best.get(token) ?? 0)) best.set(token, value);
    });
  }
  return [...best]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, count)
    .map(([token]) => token);
}

/**
 * Up to `count` windows of `records` around an occurrence of a top token where nothing fires (every activation of the
 * window ≤ 0), distinct and not overlapping within a record, in record order.
 */
export function contrastWindows(records: readonly ActivationRecord[], count: number): ActivationRecord[] {
  if (count <= 0) return [];
  const wanted = new Set(topTokens(records));
  const windows: ActivationRecord[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    let nextFree = 0;
    for (let index = 0; index < record.tokens.length && windows.length < count; index++) {
      if (index < nextFree || !wanted.has(record.tokens[index]!)) continue;
      const start = Math.max(0, index - CONTRAST_WINDOW_RADIUS);
      const end = Math.min(record.tokens.length, index + CONTRAST_WINDOW_RADIUS + 1);
      const activations = record.activations.slice(start, end);
      if (activations.some((value) => value > 0)) continue;
      const tokens = record.tokens.slice(start, end);
      const key = tokens.join('\u0000');
      if (seen.has(key)) continue;
      seen.add(key);
      windows.push({ tokens, activations });
      nextFree = end;
    }
  }
  return windows;
}
