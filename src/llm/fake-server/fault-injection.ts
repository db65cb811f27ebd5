/**
 * @module llm/fake-server/fault-injection — a seeded fault mix for the fake server, as an interceptor: each model
 * request (POST) draws one outcome from the fractions given — 429 with Retry-After, 500, a hang (until the client
 * gives up), malformed JSON, a truncated body, or a 200 whose logprobs are missing — else the normal answer.
 * The draw depends only on the seed, the request body and how many times that body was seen before, so a run's
 * faults do not depend on the order in which concurrent requests arrive.
 */
import { hashString, mulberry32 } from '../../common/random.ts';
import type { FakeHttpResponse, FakeRequestInterceptor, RecordedRequest } from './http-exchange.ts';
import { InputError } from '../../common/errors.ts';

export const faultKinds = [
  'rateLimited',
  'serverError',
  'hang',
  'malformedJson',
  'truncated',
  'missingLogprobs',
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Fractions of model requests answered with each fault (they add up to at most 1). */
export type FaultMix = Partial<Record<FaultKind, number>>;

export interface FaultOptions {
  mix: FaultMix;
  /** Seed of the draws. Default 1. */
  seed?: number;
  /** Retry-After of the 429s, in milliseconds (sent as `retry-after-ms` and, rounded up, `retry-after` seconds). Default 1000. */
  retryAfterMs?: number;
  /** Told of every fault injected (tests count them; a test ends a hang, as a client timeout would, by its request). */
  onFault?(kind: FaultKind, path: string, request: RecordedRequest): void;
}

/** Parses `429=0.1,500=0.05,hang=0.02,malformed=0.02,truncated=0.01,nologprobs=0.01` (the serve-fake flag). */
export function parseFaultMix(text: string): FaultMix {
  const aliases: Record<string, FaultKind> = {
    '429': 'rateLimited',
    '500': 'serverError',
    hang: 'hang',
    malformed: 'malformedJson',
    truncated: 'truncated',
    nologprobs: 'missingLogprobs',
  };
  const mix: FaultMix = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, value] = part.split('=');
    const kind = aliases[name?.trim() ?? ''] ?? (faultKinds as readonly string[]).find((k) => k === name?.trim());
    const fraction = Number(value);
    if (!kind || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
      throw new InputError(
        `bad fault "${part}": write name=fraction with name one of ${Object.keys(aliases).join(', ')}`,
      );
    }
    mix[kind as FaultKind] = fraction;
  }
  validateFaultMix(mix);
  return mix;
}

export function validateFaultMix(mix: FaultMix): void {
  const total = faultKinds.reduce((sum, kind) => sum + (mix[kind] ?? 0), 0);
  if (total > 1 + 1e-9) throw new InputError(`fault fractions add up to ${total}, more than 1`);
}

function errorResponse(
  path: string,
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): FakeHttpResponse {
  const anthropic = path.endsWith('/messages');
  const body = anthropic
    ? { type: 'error', error: { type, message } }
    : { error: { message, type, param: null, code: type } };
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function withoutLogprobs(response: FakeHttpResponse): FakeHttpResponse {
  if (response.status !== 200) return response;
  try {
    const json = JSON.parse(response.body) as { choices?: Array<{ logprobs?: unknown }> };
    for (const choice of json.choices ?? []) choice.logprobs = null;
    return { ...response, body: JSON.stringify(json) };
  } catch {
    return response;
  }
}

/** The interceptor that injects the fault mix. */
export function createFaultInterceptor(options: FaultOptions): FakeRequestInterceptor {
  validateFaultMix(options.mix);
  const seed = options.seed ?? 1;
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const seen = new Map<string, number>();
  return async (context, next) => {
    const { request } = context;
    if (
      request.method !== 'POST' ||
      request.body === undefined ||
      request.path.includes('/batches') ||
      request.path.includes('/files')
    )
      return next();
    const occurrence = seen.get(request.rawBody) ?? 0;
    seen.set(request.rawBody, occurrence + 1);
    let draw = mulberry32(hashString(`${occurrence}#${request.rawBody}`, seed))();
    let kind: FaultKind | undefined;
    for (const candidate of faultKinds) {
      draw -= options.mix[candidate] ?? 0;
      if (draw < 0) {
        kind = candidate;
        break;
      }
    }
    if (!kind) return next();
    options.onFault?.(kind, request.path, request);
    switch (kind) {
      case 'rateLimited':
        return errorResponse(
          request.path,
          429,
          'rate_limit_error',
          'Rate limit reached (fake server fault injection)',
          {
            'retry-after-ms': String(retryAfterMs),
            'retry-after': String(Math.ceil(retryAfterMs / 1000)),
          },
        );
      case 'serverError':
        return errorResponse(
          request.path,
          500,
          'server_error',
          'The server had an error (fake server fault injection)',
        );
      case 'hang':
        await new Promise<void>((resolve) => {
          if (context.signal.aborted) resolve();
          context.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return errorResponse(request.path, 504, 'timeout', 'hung (never sent)');
      case 'malformedJson': {
        const response = await next();
        return {
          ...response,
          status: 200,
          body: `{"id": "fake", "object": ${response.body.slice(0, 20)} <<not json>>`,
        };
      }
      case 'truncated': {
        const response = await next();
        return { ...response, status: 200, body: response.body.slice(0, Math.floor(response.body.length / 2)) };
      }
      case 'missingLogprobs':
        return withoutLogprobs(await next());
    }
  };
}
