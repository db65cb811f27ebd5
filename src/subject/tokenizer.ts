/**
 * @module subject/tokenizer — byte-level BPE tokenizers in the GPT-2 style, loaded from a folder holding a Hugging
 * Face `tokenizer.json`, or GPT-2's `vocab.json` + `merges.txt` (converted to a tokenizer.json object in memory).
 * Encoding runs in `@huggingface/tokenizers` (pure JS); offsets, token strings and decoding are computed here from the
 * bytes of each token, since the library gives no offsets (for byte-level BPE the tokens' bytes, concatenated, are
 * the UTF-8 of the text).
 *
 * Only byte-level BPE is accepted (model BPE, ByteLevel pre-tokenizer and decoder, no normalizer, no prefix space):
 * anything else would break that byte identity, so it is refused at load time with a message saying why.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../common/errors.ts';
import { isRecord } from '../common/is-record.ts';

export interface SubjectTokenizer {
  /** Embedding rows needed: the largest token id + 1 (= the number of tokens when ids are contiguous). */
  readonly vocabSize: number;
  /** Id of `<|endoftext|>`, or null when the vocabulary has none. */
  readonly eosId: number | null;
  /** Token ids of `text`; an `<|endoftext|>` written in the text becomes the special token (Hugging Face's rule). */
  encode(text: string): number[];
  /**
   * Token ids with the [start, end) character span of each token in `text` (UTF-16 offsets). Spans are contiguous
   * and cover the text; a token's span includes its leading space (" the" starts at the space), as GPT-2's
   * tokenizer.json reports (its post-processor has trim_offsets false). When a token boundary falls inside a
   * character's UTF-8 bytes, both tokens' spans include that whole character (they overlap by it).
   */
  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] };
  /** The text of the tokens (bytes of an incomplete UTF-8 character → U+FFFD). Throws a RangeError on unknown ids. */
  decode(ids: readonly number[]): string;
  /** The display string of each token: its own decoded text, e.g. " the", "ing" (incomplete UTF-8 → U+FFFD). */
  tokenStrings(ids: readonly number[]): string[];
}

/** A tokenizer folder or file that cannot be used; the message is one line naming the path. */
export class TokenizerLoadError extends InputError {
  override readonly name = 'TokenizerLoadError';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
  }
}

export const endOfTextToken = '<|endoftext|>';

/** GPT-2's pre-tokenization pattern (the one `@huggingface/tokenizers`' ByteLevel pre-tokenizer uses, built in). */
export const gpt2PreTokenizePattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/**
 * GPT-2's byte order: the printable bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` first, then the other 68 in increasing order.
 * Byte-level vocabularies give byte `gpt2ByteOrder[i]` the id i.
 */
export const gpt2ByteOrder: readonly number[] = (() => {
  const printable: number[] = [];
  for (let byte = 0; byte < 256; byte += 1) {
    const isPrintable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    if (isPrintable) printable.push(byte);
  }
  const others = Array.from({ length: 256 }, (_, byte) => byte).filter((byte) => !printable.includes(byte));
  return [...printable, ...others];
})();

/** GPT-2's bytes → unicode map: the character that stands for each byte in byte-level token strings (the 188
 * printable bytes stand for themselves, the other 68 for U+0100 onwards: space → "Ġ", newline → "Ċ"). */
export const byteToUnicode: readonly string[] = (() => {
  const characters = new Array<string>(256);
  gpt2ByteOrder.forEach((byte, index) => {
    characters[byte] = String.fromCharCode(index < 188 ? byte : 256 + index - 188);
  });
  return characters;
})();

const unicodeToByte = new Map<string, number>(byteToUnicode.map((character, byte) => [character, byte]));

/** The byte-level string of a text: each UTF-8 byte as its GPT-2 character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(text)) out += byteToUnicode[byte]!;
  return out;
}

/** A special token of the vocabulary (`added_tokens` in tokenizer.json). */
export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
}

/** The parts of a byte-level BPE tokenizer. Token strings are byte-level strings (space = "Ġ"). */
export interface ByteLevelBpeSpec {
  /** Token string → id, including the 256 byte tokens. */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order, each the two token strings merged. */
  merges: readonly (readonly [string, string])[];
  addedTokens: readonly AddedTokenSpec[];
}

/** A Hugging Face tokenizer.json object for a byte-level BPE tokenizer, laid out as GPT-2's tokenizer.json. */
export function byteLevelBpeTokenizerJson(spec: ByteLevelBpeSpec): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.addedTokens.map((token) => ({
      id: token.id,
      content: token.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: token.special,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(spec.vocab),
      merges: spec.merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

/** Whether a pre_tokenizer config is ByteLevel, alone or in a Sequence; returns the reason when it is not usable. */
function checkPreTokenizer(config: unknown): string | null {
  if (!isRecord(config)) return 'has no pre_tokenizer (a ByteLevel one is needed)';
  const isSequence = config.type === 'Sequence' && Array.isArray(config.pretokenizers);
  const parts = isSequence ? (config.pretokenizers as unknown[]).filter(isRecord) : [config];
  const byteLevel = parts.filter((part) => part.type === 'ByteLevel');
  if (byteLevel.length === 0) {
    return `has pre_tokenizer ${String(config.type)}; only byte-level (ByteLevel) tokenizers are supported`;
  }
  if (byteLevel.some((part) => part.add_prefix_space === true)) {
    return 'uses add_prefix_space, which is not supported (offsets would shift)';
  }
  return null;
}

/** Checks what the offsets and decoding here rely on; returns the reason a tokenizer.json is not usable, or null. */
function checkTokenizerJson(json: Record<string, unknown>): string | null {
  const model = json.model;
  if (!isRecord(model)) return 'has no "model" object';
  if (model.type !== undefined && model.type !== 'BPE') {
    return `has model type ${String(model.type)}; only BPE is supported`;
  }
  if (!isRecord(model.vocab)) return 'model.vocab is not an object of token → id';
  if (!Array.isArray(model.merges)) return 'model.merges is not a list';
  if (json.normalizer !== null && json.normalizer !== undefined) {
    return 'has a normalizer, which is not supported (offsets would not match the text)';
  }
  const preTokenizer = checkPreTokenizer(json.pre_tokenizer);
  if (preTokenizer) return preTokenizer;
  if (!isRecord(json.decoder) || json.decoder.type !== 'ByteLevel') return 'has no ByteLevel decoder';
  if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) return 'added_tokens is not a list';
  for (const token of (json.added_tokens ?? []) as unknown[]) {
    if (!isRecord(token) || typeof token.content !== 'string' || typeof token.id !== 'number') {
      return 'has an added token without content and id';
    }
    if (token.lstrip === true || token.rstrip === true) {
      return `added token ${token.content} strips spaces (lstrip/rstrip), which is not supported`;
    }
  }
  return null;
}

const utf8 = new TextEncoder();
/** Non-fatal (bad bytes → U+FFFD) and keeping a leading byte-order mark, which is text like any other. */
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

class ByteLevelBpeTokenizer implements SubjectTokenizer {
  readonly vocabSize: number;
  readonly eosId: number | null;
  /** Bytes of each id; undefined for ids with no token or with a string that is not byte-level. */
  private readonly tokenBytes: (Uint8Array | undefined)[];

  constructor(
    private readonly library: Tokenizer,
    vocab: Record<string, unknown>,
    addedTokens: readonly AddedTokenSpec[],
  ) {
    this.tokenBytes = [];
    for (const [token, id] of Object.entries(vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) continue;
      const bytes: number[] = [];
      for (const character of token) {
        const byte = unicodeToByte.get(character);
        if (byte === undefined) break;
        bytes.push(byte);
      }
      this.tokenBytes[id] = bytes.length === token.length ? Uint8Array.from(bytes) : undefined;
    }
    for (const token of addedTokens) this.tokenBytes[token.id] = utf8.encode(token.content);
    this.vocabSize = this.tokenBytes.length;
    const eos = addedTokens.find((token) => token.content === endOfTextToken)?.id ?? vocab[endOfTextToken];
    this.eosId = typeof eos === 'number' ? eos : null;
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    return this.library.encode(text, { add_special_tokens: false }).ids;
  }

  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] } {
    const ids = this.encode(text);
    // For every UTF-8 byte of the text: the UTF-16 span of the character it belongs to.
    const characterStart: number[] = [];
    const characterEnd: number[] = [];
    for (let index = 0; index < text.length; ) {
      const codePoint = text.codePointAt(index)!;
      const units = codePoint > 0xffff ? 2 : 1;
      // UTF-8 length; a lone surrogate is written as U+FFFD, 3 bytes, by TextEncoder too.
      const byteCount = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
      for (let byte = 0; byte < byteCount; byte += 1) {
        characterStart.push(index);
        characterEnd.push(index + units);
      }
      index += units;
    }
    const offsets: [number, number][] = [];
    let position = 0;
    for (const id of ids) {
      const length = this.bytesOf(id).length;
      if (length === 0 || position + length > characterStart.length) break;
      offsets.push([characterStart[position]!, characterEnd[position + length - 1]!]);
      position += length;
    }
    if (position !== characterStart.length || offsets.length !== ids.length) {
      throw new InputError(
        `tokenizer output does not cover the text (${position} of ${characterStart.length} UTF-8 bytes): ` +
          'the vocabulary lacks byte tokens, so the library dropped some bytes',
      );
    }
    return { ids, offsets };
  }

  decode(ids: readonly number[]): string {
    const parts = ids.map((id) => this.bytesOf(id));
    const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let position = 0;
    for (const part of parts) {
      bytes.set(part, position);
      position += part.length;
    }
    return utf8Decoder.decode(bytes);
  }

  tokenStrings(ids: readonly number[]): string[] {
    return ids.map((id) => utf8Decoder.decode(this.bytesOf(id)));
  }

  private bytesOf(id: number): Uint8Array {
    const bytes = this.tokenBytes[id];
    if (!bytes) {
      throw new RangeError(
        `token id ${id} is not in the vocabulary (size ${this.vocabSize}) or is not a byte-level token`,
      );
    }
    return bytes;
  }
}

/** Builds a tokenizer from a tokenizer.json object; `source` names where it came from, for errors. */
export function tokenizerFromJson(json: unknown, source: string): SubjectTokenizer {
  if (!isRecord(json)) throw new TokenizerLoadError(source, 'is not a JSON object');
  const problem = checkTokenizerJson(json);
  if (problem) throw new TokenizerLoadError(source, problem);
  const model = json.model as Record<string, unknown>;
  const addedTokens = ((json.added_tokens ?? []) as Record<string, unknown>[]).map((token) => ({
    id: token.id as number,
    content: token.content as string,
    special: token.special === true,
  }));
  let library: Tokenizer;
  try {
    // The library wants every top-level key present. Decoding is done here, not by the library: its decode throws
    // on [], turns unknown ids into "" silently, and by default "cleans up" spaces (" ." → "."), changing the text.
    const complete = { normalizer: null, post_processor: null, added_tokens: [], ...json };
    library = new Tokenizer(complete, { clean_up_tokenization_spaces: false });
  } catch (error) {
    throw new TokenizerLoadError(source, `@huggingface/tokenizers cannot use it: ${String(error)}`, { cause: error });
  }
  return new ByteLevelBpeTokenizer(library, model.vocab as Record<string, unknown>, addedTokens);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : `cannot read (${String(error)})`;
    throw new TokenizerLoadError(path, reason, { cause: error });
  }
}

function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TokenizerLoadError(path, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

/** GPT-2's vocab.json + merges.txt as a byte-level BPE spec; `<|endoftext|>`, when in the vocabulary, is special. */
export function readGpt2VocabFiles(vocabPath: string, mergesPath: string): ByteLevelBpeSpec {
  const vocabJson = readJson(vocabPath);
  if (!isRecord(vocabJson)) throw new TokenizerLoadError(vocabPath, 'is not a JSON object of token → id');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(vocabJson)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      const reason = `token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, not a non-negative integer`;
      throw new TokenizerLoadError(vocabPath, reason);
    }
    vocab.set(token, id);
  }
  const merges: [string, string][] = [];
  const lines = readText(mergesPath).split('\n');
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    if (line === '' || (index === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      const reason = `a merge is two tokens separated by one space, got ${JSON.stringify(line)}`;
      throw new TokenizerLoadError(`${mergesPath}:${index + 1}`, reason);
    }
    merges.push([parts[0]!, parts[1]!]);
  });
  const eos = vocab.get(endOfTextToken);
  const addedTokens = eos === undefined ? [] : [{ id: eos, content: endOfTextToken, special: true }];
  return { vocab, merges, addedTokens };
}

/**
 * Loads the tokenizer of a folder: `tokenizer.json` when present, otherwise GPT-2's `vocab.json` + `merges.txt`.
 * Throws a TokenizerLoadError naming the missing or bad file.
 */
export function loadTokenizer(directory: string): SubjectTokenizer {
  const tokenizerPath = join(directory, 'tokenizer.json');
  let tokenizerText: string | null = null;
  try {
    tokenizerText = readText(tokenizerPath);
  } catch (error) {
    if (!(error instanceof TokenizerLoadError) || error.reason !== 'file not found') throw error;
  }
  if (tokenizerText !== null) {
    let json: unknown;
    try {
      json = JSON.parse(tokenizerText);
    } catch (error) {
      throw new TokenizerLoadError(tokenizerPath, `not valid JSON (${(error as Error).message})`, { cause: error });
    }
    return tokenizerFromJson(json, tokenizerPath);
  }
  const vocabPath = join(directory, 'vocab.json');
  const mergesPath = join(directory, 'merges.txt');
  let spec: ByteLevelBpeSpec;
  try {
    spec = readGpt2VocabFiles(vocabPath, mergesPath);
  } catch (error) {
    if (error instanceof TokenizerLoadError && error.reason === 'file not found') {
      throw new TokenizerLoadError(
        directory,
        `no tokenizer.json, and no ${error.path === vocabPath ? 'vocab.json' : 'merges.txt'} ` +
          'for a GPT-2 vocab.json + merges.txt tokenizer',
        { cause: error },
      );
    }
    throw error;
  }
  return tokenizerFromJson(byteLevelBpeTokenizerJson(spec), `${vocabPath} + merges.txt`);
}
