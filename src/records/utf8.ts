/**
 * @module records/utf8 — strict UTF-8 for input files: bytes that are not UTF-8 are an input error naming the line
 * and, where the rest parses, the field that holds them; they are never read as U+FFFD and stored.
 */
import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { RecordFormatError } from './errors.ts';
import { InputError } from '../common/errors.ts';

const REPLACEMENT_CHARACTER = '\ufffd';

/** Bytes that are not UTF-8: where the first bad byte is, and the text as a lenient decoder reads it (for locating). */
export class InvalidUtf8Error extends InputError {
  override readonly name = 'InvalidUtf8Error';
  constructor(
    /** Offset of the first invalid byte in the bytes decoded (a line, or a whole file). */
    readonly byteOffset: number,
    /** The bytes decoded with U+FFFD for each invalid sequence. */
    readonly lenientText: string,
    /** The 1-based line the bytes are, when they are one line of a file. */
    readonly lineNumber?: number,
  ) {
    super(`invalid UTF-8 at byte ${byteOffset}${lineNumber !== undefined ? ` of line ${lineNumber}` : ''}`);
  }
}

/** The offset of the first byte that a lenient decoder turned into U+FFFD (an encoded U+FFFD in the input is skipped). */
function firstInvalidByte(bytes: Buffer, lenientText: string): number {
  let offset = 0;
  for (const character of lenientText) {
    const encodedReplacement = bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd;
    if (character === REPLACEMENT_CHARACTER && !encodedReplacement) return offset;
    offset += Buffer.byteLength(character);
  }
  return offset;
}

/** Decodes UTF-8; throws InvalidUtf8Error at the first byte that is not UTF-8 (never U+FFFD in its place). */
export function decodeUtf8(bytes: Buffer, lineNumber?: number): string {
  const text = bytes.toString('utf8');
  if (isUtf8(bytes)) return text;
  throw new InvalidUtf8Error(firstInvalidByte(bytes, text), text, lineNumber);
}

/** The JSON path (`top[0].tokens[3]`) of the first string (value or key) in `value` holding U+FFFD; null if none. */
export function pathOfReplacementCharacter(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes(REPLACEMENT_CHARACTER) ? path : null;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = pathOfReplacementCharacter(item, `${path}[${index}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const itemPath = path ? `${path}.${key}` : key;
      if (key.includes(REPLACEMENT_CHARACTER)) return `${itemPath} (the key)`;
      const found = pathOfReplacementCharacter(item, itemPath);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * The RecordFormatError for bytes that are not UTF-8: `file (line 3, top[0].tokens[1]): not valid UTF-8 (byte 57 of
 * the line) …`. `parse` reads the leniently decoded text to find the field (none is named when it does not parse).
 */
export function invalidUtf8RecordError(
  file: string,
  error: InvalidUtf8Error,
  parse: (text: string) => unknown = JSON.parse,
): RecordFormatError {
  let field: string | null = null;
  try {
    field = pathOfReplacementCharacter(parse(error.lenientText));
  } catch {
    field = null;
  }
  const line = error.lineNumber ?? lineOfByte(error.lenientText, error.byteOffset);
  const where = error.lineNumber !== undefined ? 'of the line' : 'of the file';
  return new RecordFormatError(
    file,
    [`line ${line}`, field].filter((part) => part !== null).join(', '),
    `not valid UTF-8 (byte ${error.byteOffset} ${where}); records must be UTF-8 text`,
    { cause: error },
  );
}

/** The 1-based line of a byte offset in text that was decoded from the bytes (lines counted up to it). */
function lineOfByte(text: string, byteOffset: number): number {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset);
  let line = 1;
  for (const byte of before) if (byte === 0x0a) line += 1;
  return line;
}

/** Reads a whole file as UTF-8 text; bytes that are not UTF-8 throw a RecordFormatError naming line and field. */
export async function readUtf8RecordFile(file: string, parse: (text: string) => unknown = JSON.parse): Promise<string> {
  const bytes = await readFile(file);
  try {
    const text = decodeUtf8(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (error) {
    if (error instanceof InvalidUtf8Error) throw invalidUtf8RecordError(file, error, parse);
    throw error;
  }
}
