/**
 * @module report/judgement-selection — which of a judge's answers a feature card shows, and how much of each window:
 * at most `cap` examples, half of them (rounded up) with a true truth and the rest false (the other side fills in
 * where one is short), the judge's mistakes and unreadable answers first within each side, then stored order; a
 * window longer than MAX_SHOWN_TOKENS is cut to that many tokens around its first highlighted token (or its start).
 */
import type { StoredJudgement } from '../store/queries.ts';

/** Tokens shown of one judged window at most. */
export const MAX_SHOWN_TOKENS = 64;

/** A shown example: the stored one, its window cut where long (tokens left out before and after its shown part). */
export type ShownJudgement = StoredJudgement & { cutBefore?: number; cutAfter?: number };

const isMistake = (example: StoredJudgement) => example.predicted !== example.truth;

/** The window cut to MAX_SHOWN_TOKENS around its first highlighted token; highlighted positions follow the cut. */
export function cutWindow(example: StoredJudgement): ShownJudgement {
  const length = example.tokens.length;
  if (length <= MAX_SHOWN_TOKENS) return example;
  const anchor = example.highlighted?.length ? Math.min(...example.highlighted) : 0;
  const start = Math.max(0, Math.min(anchor - Math.floor(MAX_SHOWN_TOKENS / 4), length - MAX_SHOWN_TOKENS));
  const end = start + MAX_SHOWN_TOKENS;
  const { highlighted, ...rest } = example;
  const kept = highlighted?.filter((i) => i >= start && i < end).map((i) => i - start);
  return {
    ...rest,
    tokens: example.tokens.slice(start, end),
    ...(kept ? { highlighted: kept } : {}),
    cutBefore: start,
    cutAfter: length - end,
  };
}

export function selectJudgements(examples: readonly StoredJudgement[], cap: number): ShownJudgement[] {
  if (cap <= 0) return [];
  const ordered = (truth: boolean) =>
    examples
      .map((example, position) => ({ example, position }))
      .filter(({ example }) => example.truth === truth)
      .sort((a, b) => Number(isMistake(b.example)) - Number(isMistake(a.example)) || a.position - b.position);
  const positives = ordered(true);
  const negatives = ordered(false);
  const half = Math.ceil(cap / 2);
  const positiveCount = Math.min(positives.length, Math.max(half, cap - negatives.length));
  const negativeCount = Math.min(negatives.length, cap - positiveCount);
  return [...positives.slice(0, positiveCount), ...negatives.slice(0, negativeCount)]
    .sort((a, b) => a.position - b.position)
    .map(({ example }) => cutWindow(example));
}
