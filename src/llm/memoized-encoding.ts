/**
 * @module llm/memoized-encoding — a BPE encoder that encodes each distinct pre-tokenized piece once. Prompts repeat
 * their system text, few-shot examples and record tokens on every call; js-tiktoken runs its byte-pair merge on every
 * piece of every call. This splits a text exactly as `Tiktoken.encode(text, 'all')` does (special tokens first, then
 * the encoding's `pat_str` regex on the text between them), looks each piece up in a bounded cache and encodes a
 * missing piece with the encoder itself, so ids, counts and token strings equal js-tiktoken's.
 */
import type { Tiktoken, TiktokenBPE } from 'js-tiktoken/lite';

/** Distinct pieces kept per encoding; the cache is emptied when full (memory stays bounded). */
export const PIECE_CACHE_LIMIT = 2 ** 16;
/** Longer pieces (a long run of spaces or digits-free letters) are encoded every time, not kept. */
const LONGEST_CACHED_PIECE = 256;

interface PieceEntry {
  ids: readonly number[];
  /** The token strings of the piece (as `splitTokens` decodes them); null where a token ends mid-character. */
  strings: readonly string[] | null | undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$*+?.()|[\]{}]/g, '\\$&');
}

/** Token strings of `ids`, decoded incrementally so multi-byte characters split across tokens stay whole. */
function decodeIncrementally(encoder: Tiktoken, ids: readonly number[]): { strings: string[]; complete: boolean } {
  const strings: string[] = [];
  let pending: number[] = [];
  for (const id of ids) {
    pending.push(id);
    const decoded = encoder.decode(pending);
    if (decoded.includes('\uFFFD')) continue;
    strings.push(decoded);
    pending = [];
  }
  const complete = pending.length === 0;
  if (!complete) strings.push(encoder.decode(pending));
  return { strings, complete };
}

export class MemoizedEncoding {
  readonly encoder: Tiktoken;
  private readonly specialIds: Readonly<Record<string, number>>;
  /** As js-tiktoken builds it: the special tokens' names, escaped, joined by "|" in the ranks' order. */
  private readonly specialPattern: RegExp | null;
  private readonly piecePattern: RegExp;
  private readonly pieces = new Map<string, PieceEntry>();
  private readonly cacheLimit: number;
  /** One entry per special token (a handful: no bound needed). */
  private readonly specials = new Map<string, PieceEntry>();

  /**
   * `ranks` must be the ranks `encoder` was built from (without extended special tokens): their `pat_str` and
   * `special_tokens` (public fields of js-tiktoken's `TiktokenBPE`) split the text as the encoder does.
   */
  constructor(encoder: Tiktoken, ranks: TiktokenBPE, options: { cacheLimit?: number } = {}) {
    this.encoder = encoder;
    this.cacheLimit = options.cacheLimit ?? PIECE_CACHE_LIMIT;
    this.specialIds = ranks.special_tokens;
    const specialNames = Object.keys(ranks.special_tokens);
    this.specialPattern = specialNames.length > 0 ? new RegExp(specialNames.map(escapeRegExp).join('|'), 'g') : null;
    this.piecePattern = new RegExp(ranks.pat_str, 'ug');
  }

  /** Token ids of `text`, special tokens encoded as such: equal to `encoder.encode(text, 'all')`. */
  encode(text: string): number[] {
    const entries = this.entriesOf(text);
    if (!entries) return this.encoder.encode(text, 'all');
    const ids: number[] = [];
    for (const entry of entries) for (const id of entry.ids) ids.push(id);
    return ids;
  }

  /** Number of tokens of `text`: `encoder.encode(text, 'all').length`. */
  count(text: string): number {
    const entries = this.entriesOf(text);
    if (!entries) return this.encoder.encode(text, 'all').length;
    let total = 0;
    for (const entry of entries) total += entry.ids.length;
    return total;
  }

  /** The token strings of `text` (their concatenation is `text`), decoded as `decodeIncrementally` does. */
  split(text: string): string[] {
    const entries = this.entriesOf(text);
    const strings: string[] = [];
    if (entries) {
      for (const entry of entries) {
        if (entry.strings === undefined) entry.strings = this.stringsOf(entry.ids);
        if (entry.strings === null) return decodeIncrementally(this.encoder, this.idsOf(entries)).strings;
        for (const string of entry.strings) strings.push(string);
      }
      return strings;
    }
    return decodeIncrementally(this.encoder, this.encoder.encode(text, 'all')).strings;
  }

  private idsOf(entries: readonly PieceEntry[]): number[] {
    return entries.flatMap((entry) => entry.ids);
  }

  /**
   * A piece's strings, or null where its last token ends mid-character (then the incremental decoding carries over
   * into the next piece and only decoding the whole text gives js-tiktoken's split).
   */
  private stringsOf(ids: readonly number[]): string[] | null {
    const { strings, complete } = decodeIncrementally(this.encoder, ids);
    return complete ? strings : null;
  }

  /** The pieces of `text` in order, or null where a piece cannot be encoded on its own exactly (then: whole text). */
  private entriesOf(text: string): PieceEntry[] | null {
    const entries: PieceEntry[] = [];
    let start = 0;
    while (true) {
      let special: RegExpExecArray | null = null;
      if (this.specialPattern) {
        this.specialPattern.lastIndex = start;
        special = this.specialPattern.exec(text);
      }
      const end = special?.index ?? text.length;
      for (const match of text.substring(start, end).matchAll(this.piecePattern)) {
        const entry = this.pieceEntry(match[0]);
        if (!entry) return null;
        entries.push(entry);
      }
      if (!special) return entries;
      const id = this.specialIds[special[0]];
      if (id === undefined) return null;
      entries.push(this.specialEntry(special[0], id));
      start = special.index + special[0].length;
    }
  }

  private specialEntry(name: string, id: number): PieceEntry {
    let entry = this.specials.get(name);
    if (!entry) {
      entry = { ids: [id], strings: undefined };
      this.specials.set(name, entry);
    }
    return entry;
  }

  /**
   * A piece's ids from the cache or the encoder. `encoder.encode(piece)` equals what js-tiktoken does with the piece
   * inside the text only where the regex reads the piece alone as that one piece (a lookahead such as `\s+(?!\S)` can
   * split differently without the text that followed) and the piece holds no special token: checked, else null.
   */
  private pieceEntry(piece: string): PieceEntry | null {
    const cached = this.pieces.get(piece);
    if (cached) return cached;
    const alone = [...piece.matchAll(this.piecePattern)];
    if (alone.length !== 1 || alone[0]?.[0] !== piece) return null;
    if (this.specialPattern) {
      this.specialPattern.lastIndex = 0;
      if (this.specialPattern.test(piece)) return null;
    }
    const entry: PieceEntry = { ids: this.encoder.encode(piece, 'all'), strings: undefined };
    if (piece.length <= LONGEST_CACHED_PIECE) this.remember(piece, entry);
    return entry;
  }

  private remember(key: string, entry: PieceEntry): void {
    if (this.pieces.size >= this.cacheLimit) this.pieces.clear();
    this.pieces.set(key, entry);
  }

  /** Pieces held now (for tests of the bound). */
  get cachedPieces(): number {
    return this.pieces.size;
  }
}
