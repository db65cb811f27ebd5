/**
 * @module llm/fake-server/fake-llm-server — an OFFLINE TEST DOUBLE of an OpenAI-compatible server (node:http, bound
 * to 127.0.0.1 only), answering from the rule-based model: `POST /v1/chat/completions`, `POST /v1/completions`
 * (with echo + prompt logprobs as vLLM serves them), `POST /v1/messages` (Anthropic Messages, no logprobs),
 * `GET /v1/models`, and both Batch APIs (OpenAI files + batches, Anthropic Message Batches; fake-batches.ts), whose
 * requests are answered by the same model code. Every request is recorded for tests.
 * Faults: a fixed `latencyMs`, a seeded fault mix (`faults`: 429 with Retry-After, 500, hangs, malformed JSON,
 * truncated bodies, missing logprobs; see fault-injection.ts), and an `intercept` hook around each request. A server
 * without prompt logprobs: `echo: 'refuse'` (an error, as llama.cpp) or `echo: 'ignore'` (as Ollama). Explain answers
 * of mixed quality from a ground truth: `mixedExplanations` (mixed-explanations.ts).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import type { ConceptLexicon } from '../baseline/concept-lexicon.ts';
import { loadConceptLexicon } from '../baseline/concept-lexicon.ts';
import { respondToRequest, ruleBasedModelName } from '../baseline/rule-based-model.ts';
import type { RuleBasedModelOptions } from '../baseline/rule-based-model.ts';
import {
  AnthropicMessagesBodySchema,
  anthropicBodyToRequest,
  ChatCompletionBodySchema,
  chatBodyToRequest,
  CompletionBodySchema,
  completionBodyToRequest,
} from './wire-requests.ts';
import { anthropicErrorBody, anthropicMessageResponse, errorBody } from './wire-responses.ts';
import { chatCompletionJson, textCompletionJson } from './wire-json.ts';
import { createFakeBatchApi, type FakeBatchOptions, type FakeStoredFile } from './fake-batches.ts';
import { createFaultInterceptor, type FaultOptions } from './fault-injection.ts';
import type { FakeHttpResponse, FakeRequestInterceptor, RecordedRequest } from './http-exchange.ts';
import type { MixedExplanations } from './mixed-explanations.ts';
import { countTokens } from '../token-counter.ts';
import type { LlmRequest, LlmResult } from '../types.ts';

export interface FakeLlmServerOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Delay before each model answer, in milliseconds. Default 0. */
  latencyMs?: number;
  /** Lexicon file for reading explanations. Default: the bundled data/lexicon/concepts.json. Loaded at start. */
  lexiconPath?: string;
  /** An in-memory lexicon instead of a file (wins over `lexiconPath`). */
  lexicon?: ConceptLexicon;
  /** Per-request hook for fault injection; default none. Runs outside `faults`. */
  intercept?: FakeRequestInterceptor;
  /** A seeded fault mix (429 with Retry-After, 500, hangs, malformed JSON, truncated bodies, missing logprobs). */
  faults?: FaultOptions;
  /** Further rule-based model settings (tokenizer, distribution shape). */
  model?: Omit<RuleBasedModelOptions, 'lexicon'>;
  /** Batch API behaviour: polls before a batch ends, injected per-request errors and expiry (fake-batches.ts). */
  batch?: FakeBatchOptions;
  /**
   * How Completions requests with `echo: true` are answered: `serve` (default; the prompt's logprobs, as vLLM),
   * `refuse` (an OpenAI-style error with status `echoRefusalStatus`, as llama.cpp's "Unsupported param: echo"), or
   * `ignore` (answered as if echo were false: the completion alone, logprobs for its tokens only, as Ollama).
   */
  echo?: 'serve' | 'refuse' | 'ignore';
  /** Status of an `echo: 'refuse'` answer. Default 400 (422 and 501 are what other servers send). */
  echoRefusalStatus?: number;
  /**
   * Explain requests answered with explanations of mixed quality from a ground truth (true, partial or wrong; a test
   * double for best-of-n, mixed-explanations.ts) instead of the rule-based model's. Default none.
   */
  mixedExplanations?: MixedExplanations;
}

export interface FakeLlmServer {
  /** Base URL to give an OpenAI client: `http://127.0.0.1:PORT/v1`. */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Files uploaded to (and produced by) the fake Files API, by id. */
  files: ReadonlyMap<string, FakeStoredFile>;
  close(): Promise<void>;
}

/** Largest request body accepted, in bytes. */
const maxBodyBytes = 64 * 1024 * 1024;

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): FakeHttpResponse {
  return jsonTextResponse(status, JSON.stringify(body), headers);
}

function jsonTextResponse(status: number, json: string, headers: Record<string, string> = {}): FakeHttpResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: json };
}

function invalidRequest(message: string, code: string | null = null, param: string | null = null): FakeHttpResponse {
  return jsonResponse(400, errorBody(message, 'invalid_request_error', code, param));
}

function zodMessage(error: z.ZodError): { message: string; param: string | null } {
  const issue = error.issues[0];
  const param = issue && issue.path.length > 0 ? issue.path.join('.') : null;
  const message = issue ? `${param ? `\`${param}\`: ` : ''}${issue.message}` : 'invalid request body';
  return { message, param };
}

function readBody(incoming: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    incoming.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('request body too large'));
        incoming.destroy();
        return;
      }
      chunks.push(chunk);
    });
    incoming.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    incoming.on('error', reject);
  });
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  if (milliseconds <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, milliseconds);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts the fake server; resolves once it listens. */
export async function startFakeLlmServer(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
  const lexicon = options.lexicon ?? loadConceptLexicon(options.lexiconPath);
  const modelOptions: RuleBasedModelOptions = { ...options.model, lexicon };
  const requests: RecordedRequest[] = [];
  const inFlight = new Set<AbortController>();
  const faultInterceptor = options.faults ? createFaultInterceptor(options.faults) : undefined;
  let responseCounter = 0;
  let port = 0;

  /** The rule-based model's answer, or the mixed-quality explanation where `mixedExplanations` knows the request. */
  async function respond(request: LlmRequest): Promise<LlmResult> {
    const result = await respondToRequest(request, modelOptions);
    const mixed = options.mixedExplanations?.(request);
    if (!mixed) return result;
    const completionTokens = await countTokens(mixed.text, modelOptions.encoding);
    return { ...result, text: mixed.text, usage: { ...result.usage, completionTokens }, warnings: [] };
  }

  /**
   * The model's answer to one request body at a model endpoint (`/v1/chat/completions`, `/v1/completions`,
   * `/v1/messages`): validation, the rule-based answer, the wire format. Shared by the live endpoints and batch items.
   */
  async function modelAnswer(endpoint: string, body: unknown): Promise<FakeHttpResponse> {
    const created = Math.floor(Date.now() / 1000);
    responseCounter += 1;
    if (endpoint === '/v1/messages') {
      const parsed = AnthropicMessagesBodySchema.safeParse(body);
      if (!parsed.success)
        return jsonResponse(400, anthropicErrorBody('invalid_request_error', zodMessage(parsed.error).message));
      // No logprobs on this API: the rule-based answer's text only.
      const result = await respond(anthropicBodyToRequest(parsed.data));
      return jsonResponse(200, anthropicMessageResponse(result, `msg_fake_${responseCounter}`));
    }
    if (body === undefined || typeof body !== 'object' || body === null) {
      return invalidRequest(
        'We could not parse the JSON body of your request: expected a JSON object.',
        'invalid_json',
      );
    }
    if (endpoint === '/v1/chat/completions') {
      const parsed = ChatCompletionBodySchema.safeParse(body);
      if (!parsed.success) {
        const { message, param } = zodMessage(parsed.error);
        return invalidRequest(message, 'invalid_request_body', param);
      }
      const result = await respond(chatBodyToRequest(parsed.data));
      return jsonTextResponse(200, chatCompletionJson(result, `chatcmpl-fake-${responseCounter}`, created));
    }
    const parsed = CompletionBodySchema.safeParse(body);
    if (!parsed.success) {
      const { message, param } = zodMessage(parsed.error);
      return invalidRequest(message, 'invalid_request_body', param);
    }
    const echoBehaviour = options.echo ?? 'serve';
    if (parsed.data.echo === true && echoBehaviour === 'refuse') {
      const status = options.echoRefusalStatus ?? 400;
      return jsonResponse(
        status,
        errorBody(
          'Unsupported param: echo (fake server, echo: refuse)',
          'invalid_request_error',
          'unsupported_parameter',
          'echo',
        ),
      );
    }
    const echo = parsed.data.echo === true && echoBehaviour === 'serve';
    const llmRequest = completionBodyToRequest({ ...parsed.data, echo });
    const result = await respond(llmRequest);
    return jsonTextResponse(
      200,
      textCompletionJson(result, {
        id: `cmpl-fake-${responseCounter}`,
        created,
        prompt: llmRequest.prompt ?? '',
        echo,
      }),
    );
  }

  const batches = createFakeBatchApi({
    origin: () => `http://127.0.0.1:${port}`,
    answer: modelAnswer,
    ...(options.batch ? { options: options.batch } : {}),
  });

  /** The normal answer to a recorded request. */
  async function answer(request: RecordedRequest, signal: AbortSignal): Promise<FakeHttpResponse> {
    const route = `${request.method} ${request.path.replace(/\/+$/, '')}`;
    if (route === 'GET /v1/models') {
      return jsonResponse(200, {
        object: 'list',
        data: [{ id: ruleBasedModelName, object: 'model', created: 0, owned_by: 'autointerp-fake-server' }],
      });
    }
    const batchAnswer = batches.handle(request);
    if (batchAnswer) return batchAnswer;
    if (route === 'POST /v1/messages') return answerAnthropic(request, signal);
    const isChat = route === 'POST /v1/chat/completions';
    const isCompletions = route === 'POST /v1/completions';
    if (!isChat && !isCompletions) {
      const path = request.path.replace(/\/+$/, '');
      const knownPath = [
        '/v1/models',
        '/v1/chat/completions',
        '/v1/completions',
        '/v1/messages',
        '/v1/files',
        '/v1/batches',
        '/v1/messages/batches',
      ].includes(path);
      const type = 'invalid_request_error';
      return knownPath
        ? jsonResponse(405, errorBody(`Method ${request.method} not allowed for ${path}`, type, 'method_not_allowed'))
        : jsonResponse(404, errorBody(`Unknown request URL: ${request.method} ${path}`, type, 'unknown_url'));
    }
    if (request.body === undefined) {
      return invalidRequest(
        'We could not parse the JSON body of your request: expected a JSON object.',
        'invalid_json',
      );
    }
    await sleep(options.latencyMs ?? 0, signal);
    return modelAnswer(isChat ? '/v1/chat/completions' : '/v1/completions', request.body);
  }

  /** Anthropic Messages: needs `x-api-key` and `anthropic-version` headers, as the real API. */
  async function answerAnthropic(request: RecordedRequest, signal: AbortSignal): Promise<FakeHttpResponse> {
    if (!request.headers['x-api-key']) {
      return jsonResponse(401, anthropicErrorBody('authentication_error', 'x-api-key header is required'));
    }
    if (!request.headers['anthropic-version']) {
      return jsonResponse(400, anthropicErrorBody('invalid_request_error', 'anthropic-version: header is required'));
    }
    const parsed = AnthropicMessagesBodySchema.safeParse(request.body);
    if (!parsed.success)
      return jsonResponse(400, anthropicErrorBody('invalid_request_error', zodMessage(parsed.error).message));
    await sleep(options.latencyMs ?? 0, signal);
    return modelAnswer('/v1/messages', parsed.data);
  }

  async function handle(incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> {
    const controller = new AbortController();
    inFlight.add(controller);
    outgoing.on('close', () => controller.abort());
    try {
      let rawBody = '';
      let tooLarge = false;
      try {
        rawBody = await readBody(incoming);
      } catch {
        tooLarge = true;
      }
      let body: unknown;
      try {
        body = rawBody.length > 0 ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) body = undefined;
      const request: RecordedRequest = {
        receivedAtMs: performance.timeOrigin + performance.now(),
        method: incoming.method ?? 'GET',
        path: (incoming.url ?? '/').split('?')[0] ?? '/',
        headers: incoming.headers,
        body,
        rawBody,
      };
      const index = requests.length;
      requests.push(request);
      const next = async (): Promise<FakeHttpResponse> => {
        if (tooLarge)
          return jsonResponse(413, errorBody('request body too large', 'invalid_request_error', 'body_too_large'));
        try {
          return await answer(request, controller.signal);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          return jsonResponse(500, errorBody(`fake server error: ${message}`, 'server_error'));
        }
      };
      const context = { request, index, signal: controller.signal };
      const withFaults = faultInterceptor ? () => faultInterceptor(context, next) : next;
      const response = options.intercept ? await options.intercept(context, withFaults) : await withFaults();
      if (controller.signal.aborted || outgoing.destroyed) return;
      // Encoded once (a logprob answer runs to megabytes): its length and what is written.
      const bytes = Buffer.from(response.body, 'utf8');
      outgoing.writeHead(response.status, { ...response.headers, 'content-length': String(bytes.length) });
      outgoing.end(bytes);
    } catch (error) {
      if (!outgoing.headersSent && !outgoing.destroyed) {
        const message = error instanceof Error ? error.message : String(error);
        outgoing.writeHead(500, { 'content-type': 'application/json' });
        outgoing.end(JSON.stringify(errorBody(`fake server error: ${message}`, 'server_error')));
      }
    } finally {
      inFlight.delete(controller);
    }
  }

  const server = createServer((incoming, outgoing) => {
    void handle(incoming, outgoing);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    files: batches.files,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const controller of inFlight) controller.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
