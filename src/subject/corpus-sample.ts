/**
 * @module subject/corpus-sample — the offline corpus sample (data/corpus/brown-heldout.jsonl): documents as running
 * text with the character span and Brown POS tag of every word, so that each model token can be mapped to the tag of
 * the word it lies in. One JSON object a line:
 * `{ "doc": "ca05", "category": "news", "text": "…", "spans": [start0, end0, start1, end1, …], "tags": ["at", …] }`,
 * spans as UTF-16 offsets into `text`, flattened in pairs to keep the file small. Written by scripts/brown-text.ts.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FileFormatError } from '../records/errors.ts';

/** One word of a sample document: `text.slice(start, end)` is the word, `tag` its Brown tag (raw, lower case). */
export interface CorpusSampleWord {
  /** UTF-16 offset of the word's first character in the document text. */
  start: number;
  /** UTF-16 offset after the word's last character. */
  end: number;
  tag: string;
}

export interface CorpusSampleDocument {
  /** Source document name, e.g. "ca05". */
  doc: string;
  /** Source category, e.g. "news". */
  category: string;
  text: string;
  /** The words in order; spans are non-empty, in bounds and do not overlap. */
  words: CorpusSampleWord[];
}

/**
 * A line of the sample file that cannot be read; `location` is `line 7` or `line 7, spans[12]`, null when the whole
 * file is bad (unreadable, empty).
 */
export class CorpusSampleError extends FileFormatError {
  override readonly name = 'CorpusSampleError';
}

const offset = z.number().int('must be an integer').nonnegative('must be ≥ 0');

/** The stored form of one line. */
export const CorpusSampleLineSchema = z.strictObject({
  doc: z.string().min(1, 'must be a non-empty string'),
  category: z.string().min(1, 'must be a non-empty string'),
  text: z.string(),
  spans: z.array(offset),
  tags: z.array(z.string().min(1, 'must be a non-empty string')),
});
export type CorpusSampleLine = z.infer<typeof CorpusSampleLineSchema>;

/** First zod issue as `spans[3]` and its message. */
function describeIssue(error: z.ZodError): { field: string; reason: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', reason: 'invalid value' };
  const field = issue.path
    .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
    .join('')
    .replace(/^\./, '');
  return { field, reason: issue.message };
}

/** Checks the spans against the text and tags: returns the field and reason of the first problem, or null. */
function checkSpans(line: CorpusSampleLine): { field: string; reason: string } | null {
  if (line.spans.length !== 2 * line.tags.length) {
    return { field: 'spans', reason: `has ${line.spans.length} offsets for ${line.tags.length} tags (want 2 per tag)` };
  }
  let previousEnd = 0;
  for (let index = 0; index < line.tags.length; index += 1) {
    const start = line.spans[2 * index]!;
    const end = line.spans[2 * index + 1]!;
    if (start < previousEnd) {
      const reason = `word ${index} starts at ${start}, before the previous word ends (${previousEnd})`;
      return { field: `spans[${2 * index}]`, reason };
    }
    if (end <= start) {
      return { field: `spans[${2 * index + 1}]`, reason: `word ${index} is empty or reversed (${start}–${end})` };
    }
    if (end > line.text.length) {
      const reason = `word ${index} ends at ${end}, past the text (length ${line.text.length})`;
      return { field: `spans[${2 * index + 1}]`, reason };
    }
    previousEnd = end;
  }
  return null;
}

/** Validates one parsed line, or throws a CorpusSampleError naming file, line and field. */
export function parseCorpusSampleLine(value: unknown, file: string, lineNumber: number): CorpusSampleDocument {
  const parsed = CorpusSampleLineSchema.safeParse(value);
  const problem = parsed.success ? checkSpans(parsed.data) : describeIssue(parsed.error);
  if (problem) {
    throw new CorpusSampleError(file, `line ${lineNumber}${problem.field ? `, ${problem.field}` : ''}`, problem.reason);
  }
  if (!parsed.success) throw new CorpusSampleError(file, `line ${lineNumber}`, 'invalid value');
  const { doc, category, text, spans, tags } = parsed.data;
  const words = tags.map((tag, index) => ({ start: spans[2 * index]!, end: spans[2 * index + 1]!, tag }));
  return { doc, category, text, words };
}

/** Reads a whole sample file (blank lines skipped). Throws a CorpusSampleError on the first bad line. */
export function readCorpusSample(file: string): CorpusSampleDocument[] {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read (${String(error)})`;
    throw new CorpusSampleError(file, null, reason, { cause: error });
  }
  const documents: CorpusSampleDocument[] = [];
  const lines = content.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const text = lines[index]!;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new CorpusSampleError(file, `line ${index + 1}`, 'not valid JSON', { cause: error });
    }
    documents.push(parseCorpusSampleLine(value, file, index + 1));
  }
  if (documents.length === 0) throw new CorpusSampleError(file, null, 'no documents (the file is empty)');
  return documents;
}

/** One line of the sample file (without the newline), validated the same way it is read. */
export function formatCorpusSampleLine(document: CorpusSampleDocument): string {
  const line: CorpusSampleLine = {
    doc: document.doc,
    category: document.category,
    text: document.text,
    spans: document.words.flatMap((word) => [word.start, word.end]),
    tags: document.words.map((word) => word.tag),
  };
  parseCorpusSampleLine(line, '(corpus sample being written)', 1);
  return JSON.stringify(line);
}
