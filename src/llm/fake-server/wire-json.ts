/**
 * @module llm/fake-server/wire-json — the completion responses of ./wire-responses as JSON text, byte for byte what
 * `JSON.stringify` makes of them, written without building the per-token objects: a logprob answer runs to
 * hundreds of thousands of tokens, and its objects, `bytes` arrays and their serialization were most of the fake
 * server's time. The envelope (id, message, usage …) is still `JSON.stringify`'d; only `logprobs` is written by hand,
 * with each token text's JSON string and `bytes` array memoized.
 */
import type { LlmResult, TokenLogprob } from '../types.ts';
import { chatCompletionResponse, sortedAlternatives, textCompletionResponse } from './wire-responses.ts';

/** Token text → its JSON string and `bytes` array (a bounded memo: cleared when full). */
const tokenJsonMemo = new Map<string, { text: string; bytes: string }>();
const tokenJsonMemoLimit = 65_536;

function tokenJson(token: string): { text: string; bytes: string } {
  let entry = tokenJsonMemo.get(token);
  if (entry === undefined) {
    if (tokenJsonMemo.size >= tokenJsonMemoLimit) tokenJsonMemo.clear();
    entry = { text: JSON.stringify(token), bytes: `[${Buffer.from(token, 'utf8').join(',')}]` };
    tokenJsonMemo.set(token, entry);
  }
  return entry;
}

/** A number as `JSON.stringify` writes it (non-finite → null; in an array, undefined → null). */
function numberJson(value: number | null | undefined): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : 'null';
}

/** `JSON.stringify(envelope)` with its `"logprobs":null` replaced by `logprobs` (JSON text). */
function withLogprobs(envelope: unknown, logprobs: string): string {
  const json = JSON.stringify(envelope);
  // Inside a JSON string every quote is escaped, so `"logprobs":` can only be the key.
  const key = '"logprobs":null';
  const at = json.indexOf(key);
  return `${json.slice(0, at)}"logprobs":${logprobs}${json.slice(at + key.length)}`;
}

function chatTokenJson(token: TokenLogprob): string {
  const own = tokenJson(token.token);
  const alternatives = sortedAlternatives(token).map(([text, logprob]) => {
    const alternative = tokenJson(text);
    return `{"token":${alternative.text},"logprob":${numberJson(logprob)},"bytes":${alternative.bytes}}`;
  });
  return `{"token":${own.text},"logprob":${numberJson(token.logprob ?? 0)},"bytes":${own.bytes},"top_logprobs":[${alternatives.join(',')}]}`;
}

/** `JSON.stringify(chatCompletionResponse(result, id, created))`, faster. */
export function chatCompletionJson(result: LlmResult, id: string, created: number): string {
  const { tokens, ...withoutTokens } = result;
  if (!tokens) return JSON.stringify(chatCompletionResponse(result, id, created));
  const content = tokens.map(chatTokenJson).join(',');
  return withLogprobs(chatCompletionResponse(withoutTokens, id, created), `{"content":[${content}],"refusal":null}`);
}

function topLogprobsJson(token: TokenLogprob): string {
  if (token.logprob === null) return 'null';
  const alternatives = sortedAlternatives(token);
  // One alternative (a filler position): no key ordering to mind. Several: `Object.fromEntries` orders integer-like
  // keys first, so JSON.stringify writes them.
  if (alternatives.length === 1) {
    const [text, logprob] = alternatives[0]!;
    return `{${tokenJson(text).text}:${numberJson(logprob)}}`;
  }
  return JSON.stringify(Object.fromEntries(alternatives));
}

/** `JSON.stringify(textCompletionResponse(result, options))`, faster. */
export function textCompletionJson(
  result: LlmResult,
  options: { id: string; created: number; prompt: string; echo: boolean },
): string {
  const { tokens, ...withoutTokens } = result;
  if (!tokens) return JSON.stringify(textCompletionResponse(result, options));
  const texts = tokens.map((token) => tokenJson(token.token).text).join(',');
  const logprobs = tokens.map((token) => numberJson(token.logprob)).join(',');
  const top = tokens.map(topLogprobsJson).join(',');
  const offsets = tokens.map((token) => numberJson(token.textOffset)).join(',');
  return withLogprobs(
    textCompletionResponse(withoutTokens, options),
    `{"tokens":[${texts}],"token_logprobs":[${logprobs}],"top_logprobs":[${top}],"text_offset":[${offsets}]}`,
  );
}
