/**
 * @module subject/extraction-corpus — reads a corpus for `extract`: the Brown corpus sample (tagged JSONL), other
 * JSONL with a `text` per line, or plain text with documents separated by blank lines; with its digest and, when
 * tagged, its tag vocabulary.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../common/errors.ts';
import { isRecord } from '../common/is-record.ts';
import type { CacheCorpusFormat } from './activation-cache.ts';
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
}

export interface ExtractionCorpus {
  path: string;
  format: CacheCorpusFormat;
  /** `sha256:` of the file bytes. */
  digest: string;
  documents: ExtractionDocument[];
  /** `""` then the sorted raw tags of all documents; null for untagged corpora. */
  tagVocabulary: string[] | null;
}

/**
 * Reads a corpus for extraction. Formats, detected from the content: a JSONL file (first non-blank line starts with
 * `{`) whose objects have `spans` and `tags` is the Brown corpus sample (data/corpus/brown-heldout.jsonl, tagged);
 * other JSONL needs a string `text` per line (other fields ignored); anything else is plain text with documents
 * separated by blank lines.
 */
export function readExtractionCorpus(file: string): ExtractionCorpus {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ExtractionCorpusError(
      file,
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : `cannot read (${String(error)})`,
      { cause: error },
    );
  }
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const content = bytes.toString('utf8');
  const firstLine = content.split('\n').find((line) => line.trim() !== '');
  if (firstLine === undefined) throw new ExtractionCorpusError(file, 'is empty');
  let format: CacheCorpusFormat;
  const documents: ExtractionDocument[] = [];
  if (firstLine.trimStart().startsWith('{')) {
    format = 'jsonl-text';
    const lines = content.split('\n');
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new ExtractionCorpusError(file, `line ${index + 1} is not valid JSON`, { cause: error });
      }
      if (documents.length === 0 && isRecord(value) && 'spans' in value && 'tags' in value) format = 'brown-sample';
      if (format === 'brown-sample') {
        const document = parseCorpusSampleLine(value, file, index + 1);
        documents.push({ text: document.text, words: document.words });
      } else {
        if (!isRecord(value) || typeof value.text !== 'string') {
          throw new ExtractionCorpusError(
            file,
            `line ${index + 1} has no string "text" field (JSONL corpora need {"text": …} per line)`,
          );
        }
        documents.push({ text: value.text });
      }
    }
  } else {
    format = 'plain-text';
    for (const piece of content.split(/\r?\n[ \t]*\r?\n/)) {
      const text = piece.replace(/^\s*\n/, '').trimEnd();
      if (text.trim() !== '') documents.push({ text });
    }
  }
  if (!documents.some((document) => document.text.length > 0)) throw new ExtractionCorpusError(file, 'has no text');
  let tagVocabulary: string[] | null = null;
  if (format === 'brown-sample') {
    const tags = new Set<string>();
    for (const document of documents) for (const word of document.words ?? []) tags.add(word.tag);
    tagVocabulary = ['', ...[...tags].sort()];
    if (tagVocabulary.length > 65535)
      throw new ExtractionCorpusError(file, `has ${tagVocabulary.length} distinct tags (at most 65535 fit the cache)`);
  }
  return { path, format, digest, documents, tagVocabulary };
}
