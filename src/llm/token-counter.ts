/**
 * @module llm/token-counter — counts and splits text with a real BPE tokenizer (OpenAI's o200k_base / cl100k_base
 * via js-tiktoken, ranks bundled in the package, no download). Used for context budgets and usage accounting.
 */
import { createRequire } from 'node:module';
import { Tiktoken } from 'js-tiktoken/lite';
import type { TiktokenBPE } from 'js-tiktoken/lite';

export type EncodingName = 'o200k_base' | 'cl100k_base';

/** One load per encoding, shared by every caller, those that ask while it loads included. */
const encoders = new Map<EncodingName, Promise<Tiktoken>>();
/** The encoders loaded so far (by either `getEncoder` or `encoderNow`). */
const loadedEncoders = new Map<EncodingName, Tiktoken>();

async function loadRanks(name: EncodingName): Promise<TiktokenBPE> {
  const module =
    name === 'o200k_base'
      ? await import('js-tiktoken/ranks/o200k_base')
      : await import('js-tiktoken/ranks/cl100k_base');
  return module.default as TiktokenBPE;
}

/**
 * Loads (once) and returns the encoder. Loading o200k_base takes a few hundred milliseconds of CPU: callers that ask at
 * the same time (a run's concurrent features) wait for the one load instead of each building an encoder.
 */
export function getEncoder(name: EncodingName = 'o200k_base'): Promise<Tiktoken> {
  let encoder = encoders.get(name);
  if (!encoder) {
    encoder = loadRanks(name).then((ranks) => {
      const loaded = loadedEncoders.get(name) ?? new Tiktoken(ranks);
      loadedEncoders.set(name, loaded);
      return loaded;
    });
    encoders.set(name, encoder);
    encoder.catch(() => encoders.delete(name)); // a failed load is tried again by the next caller
  }
  return encoder;
}

/**
 * The encoder, loaded synchronously when no load has finished yet (the ranks' CommonJS build): for callers that count
 * only now and then and should not pay the load when they never count (a run whose prompts fit their bound).
 */
export function encoderNow(name: EncodingName = 'o200k_base'): Tiktoken {
  let encoder = loadedEncoders.get(name);
  if (!encoder) {
    const ranks = createRequire(import.meta.url)(`js-tiktoken/ranks/${name}`) as TiktokenBPE;
    encoder = new Tiktoken(ranks);
    loadedEncoders.set(name, encoder);
    encoders.set(name, Promise.resolve(encoder));
  }
  return encoder;
}

/** Number of tokens of `text` (special tokens counted as text). */
export async function countTokens(text: string, name: EncodingName = 'o200k_base'): Promise<number> {
  return (await getEncoder(name)).encode(text, 'all').length;
}

/** Splits text into the tokenizer's token strings, whose concatenation is `text` (for fake echo responses). */
export async function splitTokens(text: string, name: EncodingName = 'o200k_base'): Promise<string[]> {
  const encoder = await getEncoder(name);
  const ids = encoder.encode(text, 'all');
  const pieces: string[] = [];
  // Decode incrementally so multi-byte characters split across tokens stay whole in the piece where they end.
  let pending: number[] = [];
  for (const id of ids) {
    pending.push(id);
    const decoded = encoder.decode(pending);
    if (decoded.includes('\uFFFD')) continue;
    pieces.push(decoded);
    pending = [];
  }
  if (pending.length > 0) pieces.push(encoder.decode(pending));
  return pieces;
}
