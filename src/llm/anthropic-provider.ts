/**
 * @module llm/anthropic-provider — the Provider for Anthropic's Messages API through `@anthropic-ai/sdk` (which sends
 * the `anthropic-version` header; the key is sent as `x-api-key`, the API's documented header). Chat requests only: the system message goes to the
 * top-level `system` field, consecutive same-role messages are merged, a final assistant message is a prefill. No
 * logprobs: simulation with it runs in `sampled` mode. The client is created on the first request with
 * `maxRetries: 0` (retrying is a separate wrapper); the key is read from ANTHROPIC_API_KEY at request time,
 * never appears in an error message, and is never sent over plain http to a host other than loopback
 * (assertSafeEndpoint, checked before any request is built).
 */
import type Anthropic from '@anthropic-ai/sdk';
import { assertSafeEndpoint, endpointIdentity } from './endpoint.ts';
import { isRetryableStatus } from './openai-compatible-provider.ts';
import { redactSecret } from './redact-secret.ts';
import { keyedClient } from './keyed-client.ts';
import { retryAfterMilliseconds } from './retry-after.ts';
import type { ChatMessage, LlmRequest, LlmResult, Provider } from './types.ts';
import { LlmCallError } from './types.ts';

export interface AnthropicProviderOptions {
  /** Model name, e.g. `claude-haiku-4-5`. */
  model: string;
  /** API origin without `/v1` (the SDK appends `/v1/messages`). Default: Anthropic's API. A trailing `/v1` is dropped. */
  baseURL?: string;
  /** API key; default: ANTHROPIC_API_KEY, read at each request. */
  apiKey?: string;
  fetch?: typeof fetch;
  /** Timeout of one request in milliseconds. Default: the SDK's. */
  timeoutMs?: number;
}

/** The Messages API body parts of a request: `system` apart, roles alternating (same-role neighbours merged). */
export function toAnthropicMessages(messages: readonly ChatMessage[]): {
  system?: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
} {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n');
  const turns: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  for (const message of messages) {
    if (message.role === 'system') continue;
    const last = turns.at(-1);
    if (last && last.role === message.role) last.content += message.content;
    else turns.push({ role: message.role, content: message.content });
  }
  if (turns[0]?.role === 'assistant') turns.unshift({ role: 'user', content: '(continue)' });
  // The API refuses a final assistant turn that ends in whitespace.
  const final = turns.at(-1);
  if (final?.role === 'assistant') final.content = final.content.trimEnd();
  return { ...(system ? { system } : {}), messages: turns };
}

type AnthropicSdk = typeof import('@anthropic-ai/sdk');

/** The SDK once imported: its error classes, for the errors of the calls made through it. */
let loadedSdk: AnthropicSdk | undefined;
let sdkImport: Promise<AnthropicSdk> | undefined;

/**
 * Imports the SDK (once) at the first call that needs a client, not when this module loads: its ~300 modules (with
 * @opentelemetry/api) are over a third of what `autointerp run` loads, and a run that never calls Anthropic (the
 * baseline, an OpenAI-compatible server) should not pay for them at every start. A failed import is an LlmCallError
 * of the call (not retryable), as any other failure of a call; the next call tries the import again.
 */
function importSdk(providerId: string): Promise<AnthropicSdk> {
  const pending = (sdkImport ??= import('@anthropic-ai/sdk').then(
    (sdk) => (loadedSdk = sdk),
    (error: unknown) => {
      sdkImport = undefined;
      throw error;
    },
  ));
  return pending.catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const text = `${providerId}: cannot load @anthropic-ai/sdk: ${message}`;
    throw new LlmCallError(text, { retryable: false }, { cause: error });
  });
}

function toCallError(error: unknown, providerId: string, url: string, secret: string): LlmCallError {
  const prefix = `${providerId}: `;
  const clean = (text: string) => redactSecret(text, secret);
  if (error instanceof LlmCallError) return error;
  // An error of an SDK call: the SDK is loaded (a client was made with it).
  const sdk = loadedSdk;
  if (sdk && error instanceof sdk.APIUserAbortError)
    return new LlmCallError(`${prefix}request to ${url} aborted`, { url, retryable: false });
  if (sdk && error instanceof sdk.APIConnectionTimeoutError)
    return new LlmCallError(`${prefix}request to ${url} timed out`, { url, retryable: true });
  if (sdk && error instanceof sdk.APIConnectionError)
    return new LlmCallError(`${prefix}connection to ${url} failed`, { url, retryable: true });
  if (sdk && error instanceof sdk.APIError && typeof error.status === 'number') {
    const retryAfterMs = retryAfterMilliseconds(error.headers ?? undefined);
    // 529 "overloaded" is Anthropic's own retryable status (>= 500 covers it).
    return new LlmCallError(`${prefix}HTTP ${error.status} from ${url}: ${clean(error.message)}`, {
      status: error.status,
      url,
      retryable: isRetryableStatus(error.status),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LlmCallError(`${prefix}request to ${url} failed: ${clean(message)}`, {
    url,
    retryable: error instanceof SyntaxError,
  });
}

/** The Messages API body of a request, exactly as a live call sends it and a batch request's `params` carry it. */
export function anthropicMessagesBody(model: string, request: LlmRequest): Anthropic.MessageCreateParamsNonStreaming {
  const body = toAnthropicMessages(request.messages ?? []);
  return {
    model,
    max_tokens: Math.max(1, request.maxTokens),
    messages: body.messages,
    ...(body.system ? { system: body.system } : {}),
    ...(request.temperature !== undefined ? { temperature: Math.min(1, request.temperature) } : {}),
    ...(request.stop && request.stop.length > 0 ? { stop_sequences: request.stop } : {}),
  };
}

/** A Messages API `message` read into an LlmResult, as for a live call. */
export function readAnthropicMessage(response: Anthropic.Message, request: LlmRequest): LlmResult {
  const warnings: string[] = [];
  if (request.logprobs)
    warnings.push('logprobs ignored: the Anthropic Messages API serves none (use sampled simulation)');
  const text = (response.content ?? []).map((block) => (block.type === 'text' ? block.text : '')).join('');
  const stop = response.stop_reason;
  return {
    text,
    usage: { promptTokens: response.usage?.input_tokens ?? 0, completionTokens: response.usage?.output_tokens ?? 0 },
    model: response.model,
    finishReason:
      stop === 'max_tokens'
        ? 'length'
        : stop === 'end_turn' || stop === 'stop_sequence'
          ? 'stop'
          : String(stop ?? 'unknown'),
    cached: false,
    warnings,
  };
}

/** Anthropic's API, where requests go without a base URL (and without ANTHROPIC_BASE_URL). */
export const anthropicDefaultBaseURL = 'https://api.anthropic.com';

/**
 * The API origin requests go to: the option, else ANTHROPIC_BASE_URL (as the SDK would read it), else Anthropic's
 * API; a trailing `/v1` dropped (the SDK appends `/v1/messages`).
 */
export function anthropicBaseURL(options: Pick<AnthropicProviderOptions, 'baseURL'>): string {
  const given = options.baseURL || process.env.ANTHROPIC_BASE_URL?.trim() || anthropicDefaultBaseURL;
  return given.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** An SDK client for the key in force (read at call time), shared by the provider and its batch client. */
export interface AnthropicClientSource {
  readonly providerId: string;
  /** The server's identity (endpointIdentity of the base URL in force), for the response-cache key. */
  readonly endpoint: string;
  /** The client for the key in force (the SDK imported at the first call). */
  acquire(): Promise<{ client: Anthropic; key: string }>;
}

export function createAnthropicClientSource(options: AnthropicProviderOptions): AnthropicClientSource {
  const providerId = `anthropic:${options.model}`;
  // Given to the SDK explicitly (so no profile or environment variable can redirect it): the URL checked below is
  // the one every request goes to.
  const baseURL = anthropicBaseURL(options);

  function resolveKey(): string {
    const key = options.apiKey ?? process.env.ANTHROPIC_API_KEY;
    if (key !== undefined && key !== '') {
      assertSafeEndpoint(baseURL, {
        providerId,
        keyName: options.apiKey !== undefined ? 'the API key' : 'ANTHROPIC_API_KEY',
      });
      return key;
    }
    throw new LlmCallError(`${providerId}: no API key: set ANTHROPIC_API_KEY in the environment`, { retryable: false });
  }

  const acquireLoaded = keyedClient(
    resolveKey,
    (key) =>
      new loadedSdk!.default({
        apiKey: key,
        authToken: null,
        // The Messages API's documented key header is `x-api-key`; this SDK version sends `Authorization: Bearer`
        // instead, so the key goes in x-api-key and the bearer header is dropped (null removes a header).
        defaultHeaders: { 'x-api-key': key, authorization: null },
        baseURL,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
        maxRetries: 0,
      }),
  );
  const acquire = async () => {
    await importSdk(providerId);
    return acquireLoaded();
  };
  return { providerId, endpoint: endpointIdentity(baseURL), acquire };
}

/** Maps an SDK error of an Anthropic call to an LlmCallError without the key. */
export function toAnthropicCallError(error: unknown, providerId: string, url: string, secret: string): LlmCallError {
  return toCallError(error, providerId, url, secret);
}

export function createAnthropicProvider(options: AnthropicProviderOptions): Provider {
  const clients = createAnthropicClientSource(options);
  const providerId = clients.providerId;
  return {
    id: providerId,
    endpoint: clients.endpoint,
    // Batch: Message Batches through the batch client of llm/batch/.
    capabilities: { chatLogprobs: false, promptLogprobs: false, batch: true },
    isBaseline: false,
    async complete(request: LlmRequest): Promise<LlmResult> {
      if (request.messages === undefined || request.prompt !== undefined) {
        throw new LlmCallError(`${providerId}: the Messages API takes chat messages, not a flat prompt`, {
          retryable: false,
        });
      }
      const { client, key } = await clients.acquire();
      const url = `${client.baseURL.replace(/\/+$/, '')}/v1/messages`;
      try {
        const response = await client.messages.create(
          anthropicMessagesBody(options.model, request),
          request.signal ? { signal: request.signal } : undefined,
        );
        return readAnthropicMessage(response, request);
      } catch (error) {
        throw toCallError(error, providerId, url, key);
      }
    },
  };
}
