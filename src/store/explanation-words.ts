/**
 * @module store/explanation-words — the words of an explanation search as a user typed them, two ways: as the FTS5
 * query over `explanations_fts` (migration 10), and as a test of one explanation's text in JavaScript, for the search
 * that walks a score order and keeps the matching rows (asking FTS5 whether one row matches a prefix word costs a
 * merge of that prefix's whole doclist: tens of milliseconds at a million explanations, for each row).
 *
 * Both follow FTS5's default tokenizer (unicode61, remove_diacritics 1): a token is a run of token characters,
 * compared case-folded and without some accents; each typed word must be the prefix of a token of the text (all
 * words required, anywhere). The JavaScript test exists only for a query that is ASCII: then each typed word is one
 * token of ASCII letters and digits, and the test agrees with FTS5 on every text, ASCII or not, because it reads the
 * text with FTS5's own table of which code points beyond ASCII separate tokens, are dropped from them or fold to an
 * ASCII letter (store/unicode61-table.ts, generated from FTS5 and checked against it code point by code point). A
 * query beyond ASCII has no JavaScript test: only FTS5 answers it.
 */
import { UNICODE61_RANGES } from './unicode61-table.ts';

/** The words as typed (letters and digits), in order; [] when the text has none. */
export function typedWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The FTS5 query for words as a user typed them: each word quoted, as a prefix, all required; null when the text has
 * no word. Quoting keeps FTS5 operators and stray quotes from being syntax.
 */
export function explanationMatchQuery(text: string): string | null {
  const words = typedWords(text);
  if (words.length === 0) return null;
  return words.map((word) => `"${word}"*`).join(' ');
}

const ASCII = /^[\u0000-\u007f]*$/;
/** In the table of code points: a token character beyond ASCII (kept as it is; it never equals an ASCII letter). */
const KEPT = 0;
/** In the table of code points: separates tokens. */
const SEPARATOR = 1;
/** In the table of code points: dropped from its token (a combining accent). */
const DROPPED = 2;

let unicode61: Uint8Array | undefined;

/** Per code point beyond ASCII: KEPT, SEPARATOR, DROPPED, or the code of the ASCII character it folds to. */
function unicode61Table(): Uint8Array {
  if (unicode61) return unicode61;
  const table = new Uint8Array(0x110000);
  for (const entry of UNICODE61_RANGES.split(' ')) {
    if (entry === '') continue;
    const [first, last = first] = entry
      .slice(0, -1)
      .split('-')
      .map((hex) => Number.parseInt(hex, 16));
    const kind = entry.at(-1)!;
    table.fill(kind === '_' ? SEPARATOR : kind === '^' ? DROPPED : kind.charCodeAt(0), first, last! + 1);
  }
  unicode61 = table;
  return table;
}

/**
 * The text as unicode61 folds it, for ASCII words: ASCII letters lower-cased, each character beyond ASCII as FTS5
 * reads it (a space where it separates tokens, nothing where it is dropped, its ASCII letter where it folds to one,
 * else itself: an ASCII word can never match it either way). Token characters are then exactly the ASCII letters and
 * digits and everything beyond ASCII.
 */
function foldedText(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase();
  const table = unicode61Table();
  let folded = '';
  for (const character of text) {
    const codePoint = character.codePointAt(0)!;
    if (codePoint < 0x80) {
      folded += character.toLowerCase();
      continue;
    }
    const kind = table[codePoint]!;
    if (kind === KEPT) folded += character;
    else if (kind === SEPARATOR) folded += ' ';
    else if (kind !== DROPPED) folded += String.fromCharCode(kind);
  }
  return folded;
}

/** Whether the character code `code` of a folded text separates tokens (ASCII other than letters and digits). */
function separates(code: number): boolean {
  return code < 0x80 && !((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a));
}

/** Whether `word` (ASCII letters and digits, lower-case) is the prefix of a token of the folded text. */
function startsAToken(folded: string, word: string): boolean {
  for (let index = folded.indexOf(word); index !== -1; index = folded.indexOf(word, index + 1))
    if (index === 0 || separates(folded.charCodeAt(index - 1))) return true;
  return false;
}

/**
 * A test of one explanation's text against the words of `query`, agreeing with FTS5 on `explanationMatchQuery(query)`
 * for every text: each typed word is the prefix of a token. Null when the query has no word or is not ASCII (after
 * trimming); FTS5 alone answers such a query.
 */
export function explanationWordTest(query: string): ((text: string) => boolean) | null {
  const trimmed = query.trim();
  if (!ASCII.test(trimmed)) return null;
  const words = typedWords(trimmed).map((word) => word.toLowerCase());
  if (words.length === 0) return null;
  return (text) => {
    const folded = foldedText(text);
    return words.every((word) => startsAToken(folded, word));
  };
}
