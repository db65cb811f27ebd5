/**
 * @module llm/token-counter — counts and splits text with a real BPE tokenizer (OpenAI's o200k_base / cl100k_base
 * via js-tiktoken, ranks bundled in the package, no download). Used for context budgets and usage accounting; each
 * distinct piece of text is encoded once (llm/memoized-encoding), the counts equal js-tiktoken's.
 */
import { createRequire } from 'node:module';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';
import { MemoizedEncoding } from './memoized-encoding.ts';

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** One load per encoding, shared by every caller, those that ask while it loads included. */
const encodings = new Map<EncodingName, Promise<MemoizedEncoding>>();
/** The encodings loaded so far (by either `getEncoder` or `encoderNow`). */
const loadedEncodings = new Map<EncodingName, MemoizedEncoding>();

async function loadRanks(name: EncodingName): Promise<TiktokenBPE> {
  const module =
    name === 'o200k_base'
      ? await import('js-tiktoken/ranks/o200k_base')
      : await import('js-tiktoken/ranks/cl100k_base');
  return module.default as TiktokenBPE;
}

function loadedEncoding(name: EncodingName, ranks: TiktokenBPE): MemoizedEncoding {
  let encoding = loadedEncodings.get(name);
  if (!encoding) {
    encoding = new MemoizedEncoding(new Tiktoken(ranks), ranks);
    loadedEncodings.set(name, encoding);
  }
  return encoding;
}

/** Loads (once) the encoding: the encoder with its per-piece cache. */
function getEncoding(name: EncodingName): Promise<MemoizedEncoding> {
  let encoding = encodings.get(name);
  if (!encoding) {
    encoding = loadRanks(name).then((ranks) => loadedEncoding(name, ranks));
    encodings.set(name, encoding);
    encoding.catch(() => encodings.delete(name)); // a failed load is tried again by the next caller
  }
  return encoding;
}

/** The encoding, loaded synchronously when no load has finished yet (the ranks' CommonJS build). */
function encodingNow(name: EncodingName): MemoizedEncoding {
  let encoding = loadedEncodings.get(name);
  if (!encoding) {
    const ranks = createRequire(import.meta.url)(`js-tiktoken/ranks/${name}`) as TiktokenBPE;
    encoding = loadedEncoding(name, ranks);
    encodings.set(name, Promise.resolve(encoding));
  }
  return encoding;
}

/**
 * Loads (once) and returns the encoder. Loading o200k_base takes a few hundred milliseconds of CPU: callers that ask at
 * the same time (a run's concurrent features) wait for the one load instead of each building an encoder.
 */
export async function getEncoder(name: EncodingName = 'o200k_base'): Promise<Tiktoken> {
  return (await getEncoding(name)).encoder;
}

/**
 * The encoder, loaded synchronously when no load has finished yet (the ranks' CommonJS build): for callers that count
 * only now and then and should not pay the load when they never count (a run whose prompts fit their bound).
 */
export function encoderNow(name: EncodingName = 'o200k_base'): Tiktoken {
  return encodingNow(name).encoder;
}

/**
 * Number of tokens of `text` (a special token such as `<|endoftext|>` counted as one), counted now (the encoder loaded synchronously at the
 * first count): `encoder.encode(text, 'all').length`, each distinct piece of text encoded once (llm/memoized-encoding).
 */
export function countTokensNow(text: string, name: EncodingName = 'o200k_base'): number {
  return encodingNow(name).count(text);
}

/** Number of tokens of `text` (a special token such as `<|endoftext|>` counted as one). */
export async function countTokens(text: string, name: EncodingName = 'o200k_base'): Promise<number> {
  return (await getEncoding(name)).count(text);
}

/** Splits text into the tokenizer's token strings, whose concatenation is `text` (for fake echo responses). */
export async function splitTokens(text: string, name: EncodingName = 'o200k_base'): Promise<string[]> {
  // Decoded incrementally so multi-byte characters split across tokens stay whole in the piece where they end.
  return (await getEncoding(name)).split(text);
}
