/**
 * @module llm/fake-server/wire-responses — renders an LlmResult in the OpenAI wire formats: `chat.completion`
 * (logprobs.content with bytes and top_logprobs) and `text_completion` (logprobs.tokens / token_logprobs /
 * top_logprobs / text_offset; with echo, text = prompt + completion and the first token's logprob null, as vLLM).
 * Also the OpenAI error body.
 */
import type { LlmResult, TokenLogprob } from '../types.ts';

export interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface WireErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

function usageOf(result: LlmResult): WireUsage {
  const { promptTokens, completionTokens } = result.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

function bytesOf(text: string): number[] {
  return Array.from(Buffer.from(text, 'utf8'));
}

/** A position's alternatives, most probable first. */
export function sortedAlternatives(token: TokenLogprob): Array<[string, number]> {
  return Object.entries(token.topLogprobs).sort((a, b) => b[1] - a[1]);
}

export function chatCompletionResponse(result: LlmResult, id: string, created: number) {
  return {
    id,
    object: 'chat.completion' as const,
    created,
    model: result.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant' as const, content: result.text, refusal: null },
        logprobs: result.tokens
          ? {
              content: result.tokens.map((token) => ({
                token: token.token,
                logprob: token.logprob ?? 0,
                bytes: bytesOf(token.token),
                top_logprobs: sortedAlternatives(token).map(([text, logprob]) => ({
                  token: text,
                  logprob,
                  bytes: bytesOf(text),
                })),
              })),
              refusal: null,
            }
          : null,
        finish_reason: result.finishReason,
      },
    ],
    usage: usageOf(result),
  };
}

/** `prompt` is prepended to the text when `echo` is set; the tokens already cover it then. */
export function textCompletionResponse(
  result: LlmResult,
  options: { id: string; created: number; prompt: string; echo: boolean },
) {
  const tokens = result.tokens;
  return {
    id: options.id,
    object: 'text_completion' as const,
    created: options.created,
    model: result.model,
    choices: [
      {
        index: 0,
        text: (options.echo ? options.prompt : '') + result.text,
        logprobs: tokens
          ? {
              tokens: tokens.map((token) => token.token),
              token_logprobs: tokens.map((token) => token.logprob),
              top_logprobs: tokens.map((token) =>
                token.logprob === null ? null : Object.fromEntries(sortedAlternatives(token)),
              ),
              text_offset: tokens.map((token) => token.textOffset),
            }
          : null,
        finish_reason: result.finishReason,
      },
    ],
    usage: usageOf(result),
  };
}

export function errorBody(
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
  param: string | null = null,
): WireErrorBody {
  return { error: { message, type, param, code } };
}

/** An LlmResult as an Anthropic `message` object. */
export function anthropicMessageResponse(result: LlmResult, id: string) {
  return {
    id,
    type: 'message' as const,
    role: 'assistant' as const,
    model: result.model,
    content: [{ type: 'text' as const, text: result.text }],
    stop_reason: result.finishReason === 'length' ? 'max_tokens' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: result.usage.promptTokens, output_tokens: result.usage.completionTokens },
  };
}

/** Anthropic's error body. */
export function anthropicErrorBody(type: string, message: string) {
  return { type: 'error' as const, error: { type, message } };
}
