/**
 * @module simulate/read-chat-logprobs — expected values from a chat answer that rewrites the records as
 * `token<TAB>value` lines, read at each value token's `top_logprobs`. Models drop, merge, repeat or reorder lines:
 * answer lines are aligned to the target tokens by token text (longest common subsequence); a target token with
 * no aligned line, or whose value token carries no number alternatives, is missing (null), never 0.
 */
import type { TokenLogprob } from '../llm/types.ts';
import { displayToken } from '../records/format-records.ts';
import { expectedValueFromTopLogprobs } from './expected-value.ts';

interface AnswerLine {
  token: string;
  expected: number | null;
  record: number;
}

/** Start offsets of the tokens in the text their strings spell (`starts[i]` for token i), for binary search. */
function tokenStarts(tokens: readonly TokenLogprob[]): number[] {
  const starts: number[] = [];
  let offset = 0;
  for (const token of tokens) {
    starts.push(offset);
    offset += token.token.length;
  }
  return starts;
}

/** Expected value at the token covering `offset` of the text the token strings spell. */
function expectedAt(tokens: readonly TokenLogprob[], starts: readonly number[], offset: number): number | null {
  let low = 0;
  let high = starts.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const start = starts[middle]!;
    const end = start + Math.max(tokens[middle]!.token.length, 1);
    if (offset < start) high = middle - 1;
    else if (offset >= end) low = middle + 1;
    else return expectedValueFromTopLogprobs(tokens[middle]!.topLogprobs);
  }
  return null;
}

/** How a line's value is read: from the value text and its character offset in the completion. */
export type AnswerValueReader = (valueText: string, valueOffset: number) => number | null;

/** Parses the answer into lines with their record number (count of `<start>` seen). */
function parseAnswer(completion: string, valueOf: AnswerValueReader): AnswerLine[] {
  const lines: AnswerLine[] = [];
  let record = -1;
  let offset = 0;
  for (const line of completion.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    const trimmed = line.trim();
    if (trimmed === '<start>') {
      record += 1;
      continue;
    }
    if (trimmed === '<end>' || trimmed === '') continue;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) continue;
    if (!/^\s*(?:[0-9]|10)\s*$/.test(line.slice(tab + 1))) continue;
    const valueOffset = start + tab + 1 + (line.slice(tab + 1).length - line.slice(tab + 1).trimStart().length);
    lines.push({ token: line.slice(0, tab), expected: valueOf(line.slice(tab + 1).trim(), valueOffset), record: Math.max(record, 0) });
  }
  return lines;
}

/**
 * Whether an answer line's token is the target token. Byte tokens a server could not decode arrive as U+FFFD: a run
 * of them stands for any characters.
 */
function sameToken(target: string, answer: string): boolean {
  const [t, a] = [target.trim(), answer.trim()];
  if (t === a) return true;
  if (!a.includes('\uFFFD')) return false;
  const pattern = a.split(/\uFFFD+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.+');
  return new RegExp(`^${pattern}$`, 'su').test(t);
}

/** Longest-common-subsequence alignment: for each target, the index of its answer line or -1. */
function align(targets: readonly string[], answers: readonly string[]): number[] {
  const n = targets.length;
  const m = answers.length;
  const table = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[at(i, j)] = sameToken(targets[i]!, answers[j]!)
        ? table[at(i + 1, j + 1)]! + 1
        : Math.max(table[at(i + 1, j)]!, table[at(i, j + 1)]!);
    }
  }
  const result = new Array<number>(n).fill(-1);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (sameToken(targets[i]!, answers[j]!) && table[at(i, j)] === table[at(i + 1, j + 1)]! + 1) {
      result[i] = j;
      i += 1;
      j += 1;
    } else if (table[at(i + 1, j)]! >= table[at(i, j + 1)]!) i += 1;
    else j += 1;
  }
  return result;
}

/** Per target record, per token: the expected value, or null where the answer has none for it. */
export function readChatLogprobs(
  completion: string,
  tokens: readonly TokenLogprob[] | undefined,
  targets: readonly (readonly string[])[],
): (number | null)[][] {
  if (!tokens || tokens.length === 0) return readAnswerValues(completion, targets, () => null);
  // Parse the text the token strings spell, not `completion`: servers send partial UTF-8 characters as "\uFFFD" or
  // byte escapes, so offsets summed over token strings drift from the message content after the first such token.
  const starts = tokenStarts(tokens);
  return readAnswerValues(tokens.map((token) => token.token).join(''), targets, (_text, offset) => expectedAt(tokens, starts, offset));
}

/**
 * Per target record, per token: the value `valueOf` reads from the aligned answer line, or null where no line
 * aligns (shared by chat-logprob and sampled simulation).
 */
export function readAnswerValues(
  completion: string,
  targets: readonly (readonly string[])[],
  valueOf: AnswerValueReader,
): (number | null)[][] {
  const lines = parseAnswer(completion, valueOf);
  const recordCount = lines.length === 0 ? 0 : Math.max(...lines.map((line) => line.record)) + 1;
  const shown = targets.map((record) => record.map(displayToken));
  if (recordCount === targets.length) {
    // One answer record per target record: align each pair, so a dropped line cannot shift later records.
    return shown.map((targetTokens, r) => {
      const answer = lines.filter((line) => line.record === r);
      return align(targetTokens, answer.map((line) => line.token)).map((j) => (j < 0 ? null : answer[j]!.expected));
    });
  }
  const flatTargets = shown.flat();
  const matched = align(flatTargets, lines.map((line) => line.token));
  let k = 0;
  return shown.map((record) =>
    record.map(() => {
      const j = matched[k++]!;
      return j < 0 ? null : lines[j]!.expected;
    }),
  );
}
