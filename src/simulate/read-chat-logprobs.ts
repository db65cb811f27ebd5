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

/** Expected value at the completion token covering `offset` (tokens carry offsets into the completion text). */
function expectedAt(tokens: readonly TokenLogprob[] | undefined, offset: number): number | null {
  if (!tokens) return null;
  for (const token of tokens) {
    if (offset >= token.textOffset && offset < token.textOffset + Math.max(token.token.length, 1)) {
      return expectedValueFromTopLogprobs(token.topLogprobs);
    }
  }
  return null;
}

/** Parses the answer into lines with their record number (count of `<start>` seen). */
function parseAnswer(completion: string, tokens: readonly TokenLogprob[] | undefined): AnswerLine[] {
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
    lines.push({ token: line.slice(0, tab), expected: expectedAt(tokens, valueOffset), record: Math.max(record, 0) });
  }
  return lines;
}

const sameToken = (a: string, b: string) => a.trim() === b.trim();

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
  const lines = parseAnswer(completion, tokens);
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
