/** @module test/helpers/chat-simulation — the two sides of a chat-logprob simulation call, for simulator doubles. */
import { textResult } from '../../src/llm/mock-provider.ts';
import type { LlmRequest, LlmResult, TokenLogprob } from '../../src/llm/types.ts';

/** The target records of a chat simulation request: the `token<TAB>unknown` lines of its last message, by block. */
export function chatSimulationTargets(request: LlmRequest): string[][] {
  const last = request.messages!.at(-1)!.content;
  return last
    .split('<start>\n')
    .slice(1)
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.endsWith('\tunknown'))
        .map((line) => line.slice(0, -'\tunknown'.length)),
    );
}

/**
 * A chat answer rewriting `blocks` as `token<TAB>value` lines (logprob tokens as a chat API sends them), with the
 * top logprobs peaked at each token's `valueOf` value.
 */
export function chatLogprobAnswer(
  blocks: readonly (readonly string[])[],
  valueOf: (token: string) => number,
): LlmResult {
  const tokens: TokenLogprob[] = [];
  let offset = 0;
  const push = (token: string, topLogprobs: Record<string, number> = {}) => {
    tokens.push({ token, logprob: 0, topLogprobs, textOffset: offset });
    offset += token.length;
  };
  for (const block of blocks) {
    push('<start>\n');
    for (const token of block) {
      const value = String(valueOf(token));
      push(`${token}\t`);
      push(value, { [value]: 0 });
      push('\n');
    }
    push('<end>\n');
  }
  return {
    ...textResult(tokens.map((token) => token.token).join('')),
    tokens,
    usage: { promptTokens: 1, completionTokens: 1 },
  };
}
