import { describe, expect, it } from 'vitest';
import { chatCompletionJson, textCompletionJson } from '../../src/llm/fake-server/wire-json.ts';
import { chatCompletionResponse, textCompletionResponse } from '../../src/llm/fake-server/wire-responses.ts';
import type { LlmResult, TokenLogprob } from '../../src/llm/types.ts';

/** Token texts that JSON escapes or encodes in several bytes, and integer-like keys (which objects order first). */
const awkward = [
  'plain',
  ' space',
  '"quote"',
  'back\\slash',
  'new\nline',
  '\u0000\u001f',
  'é',
  '日本',
  '🙂',
  '\ud800',
  '10',
  '2',
  '0',
  '__proto__',
  '',
];

function tokensOf(texts: readonly string[]): TokenLogprob[] {
  return texts.map((text, index) => ({
    token: text,
    logprob: index === 0 ? null : -0.125 * index,
    // JSON.parse makes `__proto__` an own key, as a server's answer would.
    topLogprobs:
      index === 0
        ? {}
        : index % 3 === 0
          ? (JSON.parse(JSON.stringify({ [text]: -0.5 })) as Record<string, number>)
          : (JSON.parse(
              JSON.stringify({ [text]: -0.25, '10': -1.5, '2': -1.5, [awkward[(index + 4) % awkward.length]!]: -3e-7 }),
            ) as Record<string, number>),
    textOffset: index * 3,
  }));
}

function resultOf(tokens: TokenLogprob[] | undefined): LlmResult {
  return {
    text: 'answer "quoted" 🙂 "logprobs":null',
    usage: { promptTokens: 12, completionTokens: 3 },
    model: 'fake "model"',
    finishReason: 'stop',
    ...(tokens ? { tokens } : {}),
  } as LlmResult;
}

describe('wire JSON (the fake server writes logprob answers without building their objects)', () => {
  const results = [
    resultOf(tokensOf(awkward)),
    resultOf(tokensOf([...awkward].reverse())),
    resultOf(undefined),
    resultOf([]),
    resultOf([
      { token: 'x', logprob: Number.NEGATIVE_INFINITY, topLogprobs: { x: Number.NaN, y: -1e21 }, textOffset: 0 },
      { token: 'y', logprob: -0, topLogprobs: { y: -0 }, textOffset: 1 },
    ]),
  ];

  it('chat.completion: byte for byte JSON.stringify of the response object', () => {
    for (const result of results)
      expect(chatCompletionJson(result, 'chatcmpl-fake-7', 1_700_000_000)).toBe(
        JSON.stringify(chatCompletionResponse(result, 'chatcmpl-fake-7', 1_700_000_000)),
      );
  });

  it('text_completion (echo and not): byte for byte JSON.stringify of the response object', () => {
    for (const result of results) {
      for (const echo of [true, false]) {
        const options = { id: 'cmpl-fake-3', created: 1_700_000_001, prompt: 'the "prompt" é\n', echo };
        expect(textCompletionJson(result, options)).toBe(JSON.stringify(textCompletionResponse(result, options)));
      }
    }
  });
});
