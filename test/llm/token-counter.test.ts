/**
 * The BPE token counter (llm/token-counter): callers that ask for an encoder while it loads share the one load. A
 * run's concurrent features all count tokens at their start; each built its own encoder (8 builds of o200k_base took
 * 181 s at load 24 on 2 cores, one takes a few hundred milliseconds on a quiet machine).
 */
import { describe, expect, it } from 'vitest';

type TokenCounter = typeof import('../../src/llm/token-counter.ts');

/** A fresh instance of the module (its own empty encoder cache), whatever other test files loaded before. */
async function freshTokenCounter(): Promise<TokenCounter> {
  const fresh = `../../src/llm/token-counter.ts?fresh=${Date.now()}`;
  return (await import(/* @vite-ignore */ fresh)) as TokenCounter;
}

describe('token counter', () => {
  it('builds one encoder for callers that ask at the same time', async () => {
    // cl100k_base: the smaller of the two (100k ranks; o200k_base has 200k), the quicker to load
    const { getEncoder } = await freshTokenCounter();
    const encoders = await Promise.all(Array.from({ length: 3 }, () => getEncoder('cl100k_base')));
    expect(new Set(encoders).size).toBe(1);
    expect(await getEncoder('cl100k_base')).toBe(encoders[0]);
  });

  it('loads an encoder synchronously at the first count (encoderNow), the one getEncoder then gives', async () => {
    // A run counts tokens only where a prompt may not fit its bound: it loads the encoder then, not at its start.
    const { encoderNow, getEncoder } = await freshTokenCounter();
    const encoder = encoderNow('cl100k_base');
    expect(encoder.encode('hello world', 'all')).toEqual([15339, 1917]);
    expect(encoderNow('cl100k_base')).toBe(encoder);
    expect(await getEncoder('cl100k_base')).toBe(encoder);
  });
});
