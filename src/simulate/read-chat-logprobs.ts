/**
 * @module simulate/read-chat-logprobs — expected values from a chat answer that rewrites the records as
 * `token<TAB>value` lines, read at each value token's `top_logprobs`. Models drop, merge, repeat or reorder lines
 * and whole records: the answer's `<start>` blocks are first matched to the target records (in order, by the token
 * texts they share), then each block's lines to its record's tokens (longest common subsequence). A target token
 * with no aligned line, or whose value token carries no number alternatives, is missing (null), never 0; a record
 * the answer skipped is missing as a whole, never filled from another record's lines.
 */
import type { TokenLogprob } from '../llm/types.ts';
import { displayToken } from '../records/format-records.ts';
import { expectedValueFromTopLogprobs } from './expected-value.ts';

interface AnswerLine {
  token: string;
  expected: number | null;
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

/**
 * Parses the answer into blocks of lines: a block starts at each `<start>` line; lines before the first `<start>`
 * form a block of their own.
 */
function parseAnswer(completion: string, valueOf: AnswerValueReader): AnswerLine[][] {
  // Where the answer marks its records, only lines inside <start>…<end> answer one: a preamble, a note between
  // blocks or a trailer is never read as (part of) a record. An answer with no markers is one block.
  const marked = /^[ \t]*<start>[ \t]*$/m.test(completion);
  const blocks: AnswerLine[][] = [];
  let current: AnswerLine[] | undefined;
  let offset = 0;
  for (const line of completion.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    const trimmed = line.trim();
    if (trimmed === '<start>') {
      blocks.push((current = []));
      continue;
    }
    if (trimmed === '<end>') {
      if (marked) current = undefined;
      continue;
    }
    if (trimmed === '') continue;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) continue;
    if (!/^\s*(?:[0-9]|10)\s*$/.test(line.slice(tab + 1))) continue;
    const valueOffset = start + tab + 1 + (line.slice(tab + 1).length - line.slice(tab + 1).trimStart().length);
    if (!current) {
      if (marked) continue;
      blocks.push((current = []));
    }
    current.push({ token: line.slice(0, tab), expected: valueOf(line.slice(tab + 1).trim(), valueOffset) });
  }
  return blocks;
}

/**
 * Whether an answer line's token is the target token. Byte tokens a server could not decode arrive as U+FFFD: a run
 * of them stands for any characters.
 */
function sameToken(target: string, answer: string): boolean {
  const [t, a] = [target.trim(), answer.trim()];
  if (t === a) return true;
  if (!a.includes('\uFFFD')) return false;
  const pattern = a
    .split(/\uFFFD+/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.+');
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
  return readAnswerValues(tokens.map((token) => token.token).join(''), targets, (_text, offset) =>
    expectedAt(tokens, starts, offset),
  );
}

/** Token texts two sequences share, counted with multiplicity (how alike an answer block and a target record are). */
function sharedTokenCount(targets: readonly string[], answers: readonly AnswerLine[]): number {
  const counts = new Map<string, number>();
  for (const token of targets) counts.set(token.trim(), (counts.get(token.trim()) ?? 0) + 1);
  let shared = 0;
  for (const line of answers) {
    const left = counts.get(line.token.trim()) ?? 0;
    if (left > 0) {
      shared += 1;
      counts.set(line.token.trim(), left - 1);
    }
  }
  return shared;
}

/**
 * For each target record, the index of the answer block that answers it, or -1. Blocks and records are paired in order, maximizing the token texts each pair shares; a
 * block answers a record only if they share at least half the tokens of the shorter of the two (windows of common
 * words share a few, never most).
 */
function matchBlocks(targets: readonly (readonly string[])[], blocks: readonly AnswerLine[][]): number[] {
  const n = targets.length;
  const m = blocks.length;
  // No pairing by position, even with as many blocks as records: a skipped record and a repeated one would shift
  // every value after them onto the wrong record.
  const similarity = targets.map((target) =>
    blocks.map((block) => {
      const shared = sharedTokenCount(target, block);
      return shared > 0 && 2 * shared >= Math.min(target.length, block.length) ? shared : 0;
    }),
  );
  const best = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const pair = similarity[i]![j]! > 0 ? best[i + 1]![j + 1]! + similarity[i]![j]! : 0;
      best[i]![j] = Math.max(pair, best[i + 1]![j]!, best[i]![j + 1]!);
    }
  }
  const result = new Array<number>(n).fill(-1);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const score = similarity[i]![j]!;
    if (score > 0 && best[i]![j] === best[i + 1]![j + 1]! + score) {
      result[i] = j;
      i += 1;
      j += 1;
    } else if (best[i + 1]![j]! >= best[i]![j + 1]!) i += 1;
    else j += 1;
  }
  return result;
}

/**
 * Per target record, per token: the value `valueOf` reads from the aligned answer line, or null where no line
 * aligns (shared by chat-logprob and sampled simulation). Lines are aligned only within the answer block matched to
 * the record, so a value never moves from one record to another.
 */
export function readAnswerValues(
  completion: string,
  targets: readonly (readonly string[])[],
  valueOf: AnswerValueReader,
): (number | null)[][] {
  const blocks = parseAnswer(completion, valueOf);
  const shown = targets.map((record) => record.map(displayToken));
  const blockOf = matchBlocks(shown, blocks);
  return shown.map((targetTokens, r) => {
    const answer = blockOf[r]! < 0 ? [] : blocks[blockOf[r]!]!;
    return align(
      targetTokens,
      answer.map((line) => line.token),
    ).map((j) => (j < 0 ? null : answer[j]!.expected));
  });
}
