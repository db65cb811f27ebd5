/**
 * @module subject/extraction-corpus — reads a corpus for `extract`: the Brown corpus sample (tagged JSONL), other
 * JSONL with a `text` per line, or plain text with documents separated by blank lines; with its digest and, when
 * tagged, its tag vocabulary. Streamed: a first pass over the file checks every document and takes the digest, the
 * document count and the tag vocabulary (all of which the cache header holds before any data); the documents are
 * then read again, one at a time, as extraction consumes them, so memory never holds the corpus.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../common/errors.ts';
import { isRecord } from '../common/is-record.ts';
import type { CacheCorpusFormat } from './activation-cache.ts';
import { corpusLines, type CorpusLine, type CorpusLinesOptions } from './corpus-lines.ts';
import { parseCorpusSampleLine, type CorpusSampleWord } from './corpus-sample.ts';

/** A corpus that cannot be read for extraction; the message is one line naming the file (and line). */
export class ExtractionCorpusError extends InputError {
  override readonly name = 'ExtractionCorpusError';
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`corpus ${file}: ${reason}`, options);
  }
}

export interface ExtractionDocument {
  text: string;
  /** Brown-tagged words (the corpus sample); absent for untagged corpora. */
  words?: CorpusSampleWord[];
  /** Byte offset in the corpus file just past the document's last line (progress: the share of the file read). */
  endByte?: number;
}

export interface ExtractionCorpus {
  path: string;
  format: CacheCorpusFormat;
  /** `sha256:` of the file bytes. */
  digest: string;
  /** Bytes of the file. */
  bytes: number;
  /** Documents in the corpus. */
  documentCount: number;
  /**
   * The documents in order: read from the file anew on each iteration (memory: one document) for a corpus from
   * {@link openExtractionCorpus}, a list for one from {@link readExtractionCorpus}.
   */
  documents: Iterable<ExtractionDocument>;
  /** `""` then the sorted raw tags of all documents; null for untagged corpora. */
  tagVocabulary: string[] | null;
}

/** A corpus held in memory. */
export interface LoadedExtractionCorpus extends ExtractionCorpus {
  documents: ExtractionDocument[];
}

export interface OpenCorpusOptions {
  /** Bytes read from the file at a time (default 1 MiB). */
  chunkBytes?: number;
}

/** Plain-text documents are separated by lines of spaces and tabs only (a "\r" before the "\n" allowed). */
const blankLine = /^[ \t]*\r?$/;

/** The text of a plain-text document from its lines: leading whitespace-only lines and trailing whitespace dropped. */
function plainTextDocument(lines: readonly string[]): string {
  return lines
    .join('\n')
    .replace(/^\s*\n/, '')
    .trimEnd();
}

function* plainTextDocuments(lines: Iterable<CorpusLine>): Generator<ExtractionDocument> {
  let block: string[] = [];
  let end = 0;
  for (const line of lines) {
    if (blankLine.test(line.text)) {
      const text = plainTextDocument(block);
      block = [];
      if (text.trim() !== '') yield { text, endByte: end };
    } else {
      block.push(line.text);
      end = line.end;
    }
  }
  const text = plainTextDocument(block);
  if (text.trim() !== '') yield { text, endByte: end };
}

function* jsonlDocuments(file: string, lines: Iterable<CorpusLine>): Generator<ExtractionDocument> {
  let format: 'jsonl-text' | 'brown-sample' | null = null;
  for (const line of lines) {
    if (line.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw new ExtractionCorpusError(file, `line ${line.number} is not valid JSON`, { cause: error });
    }
    format ??= isRecord(value) && 'spans' in value && 'tags' in value ? 'brown-sample' : 'jsonl-text';
    if (format === 'brown-sample') {
      const document = parseCorpusSampleLine(value, file, line.number);
      yield { text: document.text, words: document.words, endByte: line.end };
    } else {
      if (!isRecord(value) || typeof value.text !== 'string') {
        throw new ExtractionCorpusError(
          file,
          `line ${line.number} has no string "text" field (JSONL corpora need {"text": …} per line)`,
        );
      }
      yield { text: value.text, endByte: line.end };
    }
  }
}

/** The format from the first non-blank line: JSONL when it starts with `{` (Brown sample when it has spans and tags). */
function detectFormat(file: string, path: string, chunkBytes: number | undefined): CacheCorpusFormat {
  for (const line of corpusLines(path, { chunkBytes })) {
    if (line.text.trim() === '') continue;
    if (!line.text.trimStart().startsWith('{')) return 'plain-text';
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (error) {
      throw new ExtractionCorpusError(file, `line ${line.number} is not valid JSON`, { cause: error });
    }
    return isRecord(value) && 'spans' in value && 'tags' in value ? 'brown-sample' : 'jsonl-text';
  }
  throw new ExtractionCorpusError(file, 'is empty');
}

function documentsOf(
  file: string,
  path: string,
  format: CacheCorpusFormat,
  options: CorpusLinesOptions,
): Generator<ExtractionDocument> {
  const lines = corpusLines(path, options);
  return format === 'plain-text' ? plainTextDocuments(lines) : jsonlDocuments(file, lines);
}

/**
 * Opens a corpus for extraction, streamed. Formats, detected from the content: a JSONL file (first non-blank line
 * starts with `{`) whose objects have `spans` and `tags` is the Brown corpus sample (data/corpus/brown-heldout.jsonl,
 * tagged); other JSONL needs a string `text` per line (other fields ignored); anything else is plain text with
 * documents separated by blank lines. One pass over the file checks every document (the first bad line is an
 * ExtractionCorpusError) and takes the digest, the document count and the tag vocabulary; `documents` reads the file
 * again on each iteration.
 */
export function openExtractionCorpus(file: string, options: OpenCorpusOptions = {}): ExtractionCorpus {
  const path = resolve(file);
  let bytes: number;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new ExtractionCorpusError(file, 'is a folder, not a file');
    bytes = stat.size;
  } catch (error) {
    if (error instanceof ExtractionCorpusError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ExtractionCorpusError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${String(error)})`, {
      cause: error,
    });
  }
  const { chunkBytes } = options;
  const format = detectFormat(file, path, chunkBytes);
  const hash = createHash('sha256');
  let documentCount = 0;
  let hasText = false;
  const tags = new Set<string>();
  for (const document of documentsOf(file, path, format, { chunkBytes, onBytes: (chunk) => hash.update(chunk) })) {
    documentCount++;
    if (document.text.length > 0) hasText = true;
    for (const word of document.words ?? []) tags.add(word.tag);
  }
  if (!hasText) throw new ExtractionCorpusError(file, 'has no text');
  let tagVocabulary: string[] | null = null;
  if (format === 'brown-sample') {
    tagVocabulary = ['', ...[...tags].sort()];
    if (tagVocabulary.length > 65535)
      throw new ExtractionCorpusError(file, `has ${tagVocabulary.length} distinct tags (at most 65535 fit the cache)`);
  }
  return {
    path,
    format,
    digest: `sha256:${hash.digest('hex')}`,
    bytes,
    documentCount,
    documents: { [Symbol.iterator]: () => documentsOf(file, path, format, { chunkBytes }) },
    tagVocabulary,
  };
}

/** {@link openExtractionCorpus} with every document read into memory (small corpora, tests). */
export function readExtractionCorpus(file: string, options: OpenCorpusOptions = {}): LoadedExtractionCorpus {
  const corpus = openExtractionCorpus(file, options);
  return { ...corpus, documents: [...corpus.documents] };
}
