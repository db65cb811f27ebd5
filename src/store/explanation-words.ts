/**
 * @module store/explanation-words — the words of an explanation search as a user typed them, two ways: as the FTS5
 * query over `explanations_fts` (migration 10), and as a test of one explanation's text in JavaScript, for the search
 * that walks a score order and keeps the matching rows (asking FTS5 whether one row matches a prefix word costs a
 * merge of that prefix's whole doclist: tens of milliseconds at a million explanations, for each row).
 *
 * Both follow FTS5's default tokenizer (unicode61, remove_diacritics 1): a token is a run of letters and digits,
 * compared case-folded and without accents; each typed word must be the prefix of a token of the text (all words
 * required, anywhere). For ASCII text the two agree exactly; beyond it they agree on case and on accents of Latin
 * letters (tested against FTS5), but a script whose words carry combining marks may split differently.
 */

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

/** Case-folded, accents removed (as unicode61 folds a token). */
function fold(text: string): string {
  return ASCII.test(text)
    ? text.toLowerCase()
    : text
        .normalize('NFD')
        .replace(/\p{Mn}/gu, '')
        .toLowerCase();
}

/** A text's tokens as unicode61 makes them (letters, digits and private-use characters; folded). */
function tokensOf(text: string): string[] {
  return fold(text).match(/[\p{L}\p{N}\p{Co}]+/gu) ?? [];
}

/**
 * A test of one explanation's text against the words of `query` (as `explanationMatchQuery` asks FTS5): each typed
 * word's tokens occur in order, the last as a prefix. Null when the query has no word.
 */
export function explanationWordTest(query: string): ((text: string) => boolean) | null {
  const phrases = typedWords(query)
    .map(tokensOf)
    .filter((tokens) => tokens.length > 0);
  if (phrases.length === 0) return null;
  return (text) => {
    const tokens = tokensOf(text);
    return phrases.every((phrase) => {
      const last = phrase.length - 1;
      for (let start = 0; start + last < tokens.length; start++) {
        let matched = true;
        for (let offset = 0; offset < last && matched; offset++) matched = tokens[start + offset] === phrase[offset];
        if (matched && tokens[start + last]!.startsWith(phrase[last]!)) return true;
      }
      return false;
    });
  };
}
