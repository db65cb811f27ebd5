/**
 * @module llm/openai-compatible-provider — the Provider for OpenAI's API and OpenAI-compatible servers (vLLM,
 * llama.cpp server, …) through the `openai` npm package: `prompt` requests go to Completions (echo + prompt
 * logprobs for all-at-once simulation, where the server serves them: detected, see echo-support.ts), `messages` requests to Chat Completions (completion logprobs). The client is
 * created on the first request (never at import), with `maxRetries: 0` (retrying is a separate wrapper); the API key
 * is read at request time, never appears in an error message, and is never sent over plain http to a host other
 * than loopback (assertSafeEndpoint, checked before any request is built).
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { createEchoSupport } from './echo-support.ts';
import { assertSafeEndpoint, endpointIdentity } from './endpoint.ts';
import { keyedClient } from './keyed-client.ts';
import { redactSecret } from './redact-secret.ts';
import { retryAfterMilliseconds } from './retry-after.ts';
import type { LlmRequest, LlmResult, LlmUsage, Provider, TokenLogprob } from './types.ts';
import { LlmCallError } from './types.ts';

export interface OpenAiCompatibleProviderOptions {
  /** Model name as the server knows it (`gpt-4o-mini`, `meta-llama/Llama-3.1-8B-Instruct`). */
  model: string;
  /** Server base URL including `/v1` (vLLM: `http://127.0.0.1:8000/v1`). Default: OpenAI's API. */
  baseURL?: string;
  /**
   * API key. Default: the environment variable `apiKeyEnvironmentVariable`, read at each request; with a `baseURL`
   * and no key set, the placeholder "not-needed" (keyless local servers). Without both: the request fails.
   */
  apiKey?: string;
  /** Where to read the key from. Default `OPENAI_API_KEY`. */
  apiKeyEnvironmentVariable?: string;
  /** Custom fetch (tests, proxies). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Timeout of one request, in milliseconds. Default 600 000 (the SDK's). */
  timeoutMs?: number;
  /**
   * The chat body field that limits the completion. Default `max_tokens` (vLLM and most compatible servers);
   * OpenAI's reasoning models accept only `max_completion_tokens`.
   */
  chatMaxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** Kept for modules that imported the check from here; it lives in endpoint.ts (assertSafeEndpoint). */
export { sendsKeyInClear } from './endpoint.ts';

/** OpenAI's API, where requests go without a base URL (and without OPENAI_BASE_URL). */
export const openAiDefaultBaseURL = 'https://api.openai.com/v1';

/** The base URL requests go to: the option, else OPENAI_BASE_URL (as the SDK would read it), else OpenAI's API. */
export function openAiBaseURL(options: Pick<OpenAiCompatibleProviderOptions, 'baseURL'>): string {
  return options.baseURL || process.env.OPENAI_BASE_URL?.trim() || openAiDefaultBaseURL;
}

/**
 * The error body as the SDK reads it: OpenAI's `{"error": {"message"}}` shape. Servers that send another shape
 * (vLLM: `{"object": "error", "message": …}`, FastAPI: `{"detail": …}`) are wrapped into it, so the server's
 * message reaches the error ("400 This model's maximum context length is …", not "400 status code (no body)").
 */
export function withServerMessage(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || 'error' in body) return body;
  const record = body as Record<string, unknown>;
  const text =
    typeof record.message === 'string'
      ? record.message
      : typeof record.detail === 'string'
        ? record.detail
        : JSON.stringify(body);
  return { error: { ...record, message: text } };
}

/** The SDK client, keeping the server's message of error bodies in other shapes than OpenAI's (withServerMessage). */
class ServerMessageOpenAI extends OpenAI {
  protected override makeStatusError(status: number, error: object, message: string | undefined, headers: Headers) {
    return super.makeStatusError(status, withServerMessage(error) as object, message, headers);
  }
}

/** Placeholder key for servers that do not check one (the SDK refuses to run without a key). */
export const keylessPlaceholder = 'not-needed';

type CompletionLogprobs = {
  tokens?: string[] | null;
  token_logprobs?: Array<number | null> | null;
  top_logprobs?: Array<Record<string, number> | null> | null;
  text_offset?: number[] | null;
};

/** Is a failure with this HTTP status worth retrying? 408, 409, 429 and 5xx but 501 (Not Implemented) are; 4xx are not. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || (status >= 500 && status !== 501);
}

/** Maps an SDK (or other) error to an LlmCallError whose message holds no secret. */
export function toLlmCallError(
  error: unknown,
  context: { providerId: string; url: string; secret?: string },
): LlmCallError {
  const clean = (text: string) => redactSecret(text, context.secret);
  const prefix = `${context.providerId}: `;
  if (error instanceof LlmCallError) return error;
  if (error instanceof APIUserAbortError) {
    return new LlmCallError(`${prefix}request to ${context.url} aborted`, { url: context.url, retryable: false });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmCallError(`${prefix}request to ${context.url} timed out`, { url: context.url, retryable: true });
  }
  if (error instanceof APIConnectionError) {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    const detail = cause ? `: ${clean(cause.message)}` : '';
    return new LlmCallError(
      `${prefix}connection to ${context.url} failed${detail}`,
      { url: context.url, retryable: true },
      cause ? { cause } : undefined,
    );
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const retryAfterMs = retryAfterMilliseconds(error.headers);
    return new LlmCallError(`${prefix}HTTP ${status} from ${context.url}: ${clean(error.message)}`, {
      status,
      url: context.url,
      retryable: isRetryableStatus(status),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new LlmCallError(`${prefix}request to ${context.url} aborted`, { url: context.url, retryable: false });
  }
  // A body that is not JSON (a proxy's error page, a truncated answer) is a transient server fault.
  const retryable = error instanceof SyntaxError;
  const message = error instanceof Error ? error.message : String(error);
  return new LlmCallError(`${prefix}request to ${context.url} failed: ${clean(message)}`, {
    url: context.url,
    retryable,
  });
}

function usageOf(
  usage: { prompt_tokens?: number; completion_tokens?: number } | null | undefined,
  warnings: string[],
): LlmUsage {
  if (!usage) warnings.push('server returned no usage; token counts recorded as 0');
  return { promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0 };
}

/**
 * Completions logprobs → TokenLogprob[]. With echo the offsets are the server's (from the prompt's start); without,
 * they are made relative to the completion (servers differ: OpenAI counted from the prompt, vLLM from 0).
 */
export function mapCompletionLogprobs(logprobs: CompletionLogprobs, echo: boolean): TokenLogprob[] {
  const tokens = logprobs.tokens ?? [];
  const serverOffsets = logprobs.text_offset ?? [];
  const shift = !echo && serverOffsets.length > 0 ? (serverOffsets[0] ?? 0) : 0;
  const mapped: TokenLogprob[] = [];
  let accumulated = 0;
  tokens.forEach((token, index) => {
    const serverOffset = serverOffsets[index];
    const textOffset = serverOffset === undefined ? accumulated : serverOffset - shift;
    mapped.push({
      token,
      logprob: logprobs.token_logprobs?.[index] ?? null,
      topLogprobs: { ...(logprobs.top_logprobs?.[index] ?? {}) },
      textOffset,
    });
    accumulated = textOffset + token.length;
  });
  return mapped;
}

/** Chat `logprobs.content` → TokenLogprob[], offsets accumulated over the completion. */
export function mapChatLogprobs(
  content: ReadonlyArray<{
    token: string;
    logprob: number;
    top_logprobs?: ReadonlyArray<{ token: string; logprob: number }>;
  }>,
): TokenLogprob[] {
  let offset = 0;
  return content.map((entry) => {
    const topLogprobs: Record<string, number> = {};
    for (const alternative of entry.top_logprobs ?? []) {
      const existing = topLogprobs[alternative.token];
      if (existing === undefined || alternative.logprob > existing)
        topLogprobs[alternative.token] = alternative.logprob;
    }
    const mapped: TokenLogprob = { token: entry.token, logprob: entry.logprob, topLogprobs, textOffset: offset };
    offset += entry.token.length;
    return mapped;
  });
}

/** The provider id of these options: `openai:<model>`, or `openai-compatible:<model>` with a base URL. */
export function openAiProviderId(options: Pick<OpenAiCompatibleProviderOptions, 'model' | 'baseURL'>): string {
  return `${options.baseURL ? 'openai-compatible' : 'openai'}:${options.model}`;
}

/** An SDK client for the key in force, created when first needed and re-created when the key changes. */
export interface OpenAiClientSource {
  readonly providerId: string;
  /** The server's identity (endpointIdentity of the base URL in force), for the response-cache key. */
  readonly endpoint: string;
  /** Reads the key (at call time, never earlier) and returns the client for it; throws an LlmCallError without one. */
  acquire(): { client: OpenAI; key: string };
}

/** The client source the provider and its batch client share (the key rules are in the options' comments). */
export function createOpenAiClientSource(options: OpenAiCompatibleProviderOptions): OpenAiClientSource {
  const providerId = openAiProviderId(options);
  const environmentVariable = options.apiKeyEnvironmentVariable ?? 'OPENAI_API_KEY';
  // Given to the SDK explicitly, so the URL checked below is the one every request goes to.
  const baseURL = openAiBaseURL(options);

  function resolveKey(): string {
    const key = options.apiKey ?? process.env[environmentVariable];
    if (key !== undefined && key !== '') {
      assertSafeEndpoint(baseURL, {
        providerId,
        keyName: options.apiKey !== undefined ? 'the API key' : environmentVariable,
      });
      return key;
    }
    if (options.baseURL) return keylessPlaceholder;
    throw new LlmCallError(`${providerId}: no API key: set ${environmentVariable} in the environment`, {
      retryable: false,
    });
  }

  const acquire = keyedClient(
    resolveKey,
    (key) =>
      new ServerMessageOpenAI({
        apiKey: key,
        baseURL,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
        maxRetries: 0,
      }),
  );
  return { providerId, endpoint: endpointIdentity(baseURL), acquire };
}

/** The endpoint (relative to the `/v1` base URL) a request goes to: Completions for a prompt, else Chat Completions. */
export function openAiEndpointOf(request: LlmRequest): '/completions' | '/chat/completions' {
  return request.prompt !== undefined ? '/completions' : '/chat/completions';
}

/** The Completions body of a request, exactly as a live call sends it and a batch line carries it. */
export function completionBody(
  model: string,
  request: LlmRequest,
): OpenAI.Completions.CompletionCreateParamsNonStreaming {
  return {
    model,
    prompt: request.prompt ?? '',
    max_tokens: request.maxTokens,
    ...(request.logprobs ? { logprobs: request.logprobs.topK, echo: request.logprobs.echo === true } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.stop && request.stop.length > 0 ? { stop: request.stop } : {}),
  };
}

/** The Chat Completions body of a request, exactly as a live call sends it and a batch line carries it. */
export function chatCompletionBody(
  model: string,
  request: LlmRequest,
  maxTokensField: OpenAiCompatibleProviderOptions['chatMaxTokensField'] = 'max_tokens',
): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
  return {
    model,
    messages: (request.messages ?? []).map((message) => ({ role: message.role, content: message.content })),
    [maxTokensField]: request.maxTokens,
    ...(request.logprobs ? { logprobs: true, top_logprobs: request.logprobs.topK } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.stop && request.stop.length > 0 ? { stop: request.stop } : {}),
  };
}

/** A Completions response read into an LlmResult (echoed prompt removed, logprobs mapped), as for a live call. */
export function readCompletion(
  response: OpenAI.Completions.Completion,
  request: LlmRequest,
  providerId: string,
  model: string,
): LlmResult {
  const prompt = request.prompt ?? '';
  const echo = request.logprobs?.echo === true;
  const warnings: string[] = [];
  const choice = response.choices?.[0];
  if (!choice) throw new LlmCallError(`${providerId}: response has no choices`, { retryable: true });
  let text = choice.text ?? '';
  const echoed = echo ? text.startsWith(prompt) : undefined;
  if (echoed) text = text.slice(prompt.length);
  else if (echo)
    warnings.push('echoed text does not start with the prompt (echo ignored?); text kept as the server sent it');
  let tokens: TokenLogprob[] | undefined;
  if (request.logprobs) {
    if (choice.logprobs?.tokens) tokens = mapCompletionLogprobs(choice.logprobs as CompletionLogprobs, echo);
    else warnings.push('logprobs requested but the server returned none');
  }
  return {
    text,
    ...(tokens ? { tokens } : {}),
    usage: usageOf(response.usage, warnings),
    model: response.model ?? model,
    finishReason: choice.finish_reason ?? 'unknown',
    cached: false,
    warnings,
    ...(echoed !== undefined ? { echoed } : {}),
  };
}

/** A Chat Completions response read into an LlmResult (logprobs mapped), as for a live call. */
export function readChatCompletion(
  response: OpenAI.Chat.Completions.ChatCompletion,
  request: LlmRequest,
  providerId: string,
  model: string,
): LlmResult {
  const warnings: string[] = [];
  if (request.logprobs?.echo) warnings.push('echo ignored: the chat endpoint cannot echo the prompt');
  const choice = response.choices?.[0];
  if (!choice) throw new LlmCallError(`${providerId}: response has no choices`, { retryable: true });
  let tokens: TokenLogprob[] | undefined;
  if (request.logprobs) {
    if (choice.logprobs?.content) tokens = mapChatLogprobs(choice.logprobs.content);
    else warnings.push('logprobs requested but the server returned none');
  }
  return {
    text: choice.message?.content ?? '',
    ...(tokens ? { tokens } : {}),
    usage: usageOf(response.usage, warnings),
    model: response.model ?? model,
    finishReason: choice.finish_reason ?? 'unknown',
    cached: false,
    warnings,
  };
}

/** Creates the provider; nothing is read or connected until the first request. */
export function createOpenAiCompatibleProvider(options: OpenAiCompatibleProviderOptions): Provider {
  const clients = createOpenAiClientSource(options);
  const providerId = clients.providerId;
  return {
    id: providerId,
    endpoint: clients.endpoint,
    // OpenAI's own API no longer serves echo with logprobs on Completions; of compatible servers some do (vLLM) and
    // some do not (llama.cpp refuses echo, Ollama ignores it): the first prompt-logprob answer tells (echo-support.ts).
    // Batch: OpenAI's Batch API (files + batches) through the batch client of llm/batch/; a compatible server without
    // it (vLLM's server has none) fails the first upload with a 404, which stops a `--batch` run with that message.
    capabilities:
      options.baseURL !== undefined
        ? { chatLogprobs: true, promptLogprobs: 'detect', echoSupport: createEchoSupport(), batch: true }
        : { chatLogprobs: true, promptLogprobs: false, batch: true },
    isBaseline: false,
    async complete(request: LlmRequest): Promise<LlmResult> {
      if ((request.prompt === undefined) === (request.messages === undefined)) {
        throw new LlmCallError(`${providerId}: request must set exactly one of \`prompt\` and \`messages\``, {
          retryable: false,
        });
      }
      const { client, key } = clients.acquire();
      const url = `${client.baseURL.replace(/\/+$/, '')}${openAiEndpointOf(request)}`;
      const signal = request.signal ? { signal: request.signal } : undefined;
      try {
        if (request.prompt !== undefined) {
          const response = await client.completions.create(completionBody(options.model, request), signal);
          return readCompletion(response, request, providerId, options.model);
        }
        const response = await client.chat.completions.create(
          chatCompletionBody(options.model, request, options.chatMaxTokensField),
          signal,
        );
        return readChatCompletion(response, request, providerId, options.model);
      } catch (error) {
        throw toLlmCallError(error, { providerId, url, secret: key });
      }
    },
  };
}
