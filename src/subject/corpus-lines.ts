/**
 * @module subject/corpus-lines — the lines of a corpus file, read a chunk at a time (memory: one chunk and the line
 * that runs across it), each decoded as `Buffer#toString('utf8')` decodes the whole file: a "\r" before the "\n" and a
 * byte order mark stay, bytes that are not UTF-8 become U+FFFD. Splitting the bytes at "\n" (never part of a
 * multi-byte UTF-8 character) gives the same lines as decoding the file and splitting the text.
 */
import { closeSync, openSync, readSync } from 'node:fs';

const NEWLINE = 0x0a;
const DEFAULT_CHUNK_BYTES = 1 << 20;

/** One line of the file, without its "\n". */
export interface CorpusLine {
  text: string;
  /** 1-based. */
  number: number;
  /** Byte offset in the file just past the line's "\n" (or the end of the file, for the last line). */
  end: number;
}

export interface CorpusLinesOptions {
  /** Sees the file's bytes in order as they are read (e.g. to hash them); the chunk is reused after the call. */
  onBytes?: (chunk: Uint8Array) => void;
  /** Bytes read at a time (default 1 MiB). */
  chunkBytes?: number;
}

/**
 * Yields every line of `path` as `text.split("\n")` of the decoded file would: the part after the last "\n" is a line
 * too (empty when the file ends with "\n"), so an empty file is one empty line.
 */
export function* corpusLines(path: string, options: CorpusLinesOptions = {}): Generator<CorpusLine> {
  const chunk = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const fd = openSync(path, 'r');
  try {
    let pending: Buffer[] = []; // copies of the pieces of a line that runs across chunks
    let number = 1;
    let position = 0;
    for (;;) {
      const count = readSync(fd, chunk, 0, chunk.length, position);
      if (count === 0) break;
      const bytes = chunk.subarray(0, count);
      options.onBytes?.(bytes);
      let start = 0;
      for (let newline = bytes.indexOf(NEWLINE, start); newline >= 0; newline = bytes.indexOf(NEWLINE, start)) {
        const piece = bytes.subarray(start, newline);
        const text = (pending.length > 0 ? Buffer.concat([...pending, piece]) : piece).toString('utf8');
        pending = [];
        yield { text, number: number++, end: position + newline + 1 };
        start = newline + 1;
      }
      if (start < count) pending.push(Buffer.from(bytes.subarray(start)));
      position += count;
    }
    yield { text: Buffer.concat(pending).toString('utf8'), number, end: position };
  } finally {
    closeSync(fd);
  }
}
