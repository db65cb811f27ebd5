/**
 * @module llm/provider-preflight — before a run starts: each provider it will call has its API key (where the API
 * needs one) and answers. One `GET …/models` per provider (free, no tokens; OpenAI, Anthropic, vLLM, llama.cpp,
 * Ollama and the fake server serve it): a connection that fails or a key the server refuses (401/403) stops the run
 * before anything is written; any other answer (even a 404 from a server without the route) counts as reachable.
 */
import { parseProviderSpec } from './create-provider.ts';
import { assertSafeEndpoint, describeHost } from './endpoint.ts';
import { InputError } from '../common/errors.ts';

/** A provider that cannot be used: no key, a key refused, or no answer. The message names the provider. */
export class ProviderPreflightError extends InputError {
  override readonly name = 'ProviderPreflightError';
}

export interface PreflightOptions {
  /** `--base-url`: the server the provider talks to (default: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the API's own). */
  baseURL?: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** How long to wait for the answer. Default 15 000 ms. */
  timeoutMs?: number;
  /** Where API keys (and the *_BASE_URL variables) are read. Default: process.env. */
  environment?: Record<string, string | undefined>;
}

const OPENAI_API = 'https://api.openai.com/v1';
const ANTHROPIC_API = 'https://api.anthropic.com';
const ANTHROPIC_VERSION = '2023-06-01';

interface Probe {
  url: string;
  headers: Record<string, string>;
  /** The environment variable of the key, when one is sent. */
  keyVariable?: string;
}

const present = (value: string | undefined): value is string => value !== undefined && value !== '';

/** What to ask whom for a provider spec; undefined for the offline baseline. */
function probeOf(spec: string, options: PreflightOptions): Probe | undefined {
  const environment = options.environment ?? process.env;
  const { provider } = parseProviderSpec(spec);
  // The providers' own check (https, or http to loopback only), made here before the key goes anywhere.
  const refuseClearText = (url: string, keyName: string) => assertSafeEndpoint(url, { providerId: spec, keyName });
  switch (provider) {
    case 'baseline':
      return undefined;
    case 'openai':
    case 'openai-compatible': {
      if (provider === 'openai-compatible' && !options.baseURL) {
        throw new ProviderPreflightError(
          `${spec} needs a base URL (--base-url http://host:port/v1) of an OpenAI-compatible server`,
        );
      }
      const base = (options.baseURL || environment.OPENAI_BASE_URL?.trim() || OPENAI_API).replace(/\/+$/, '');
      const key = environment.OPENAI_API_KEY;
      if (!present(key)) {
        if (!options.baseURL)
          throw new ProviderPreflightError(`${spec}: no API key: set OPENAI_API_KEY in the environment`);
        return { url: `${base}/models`, headers: {} }; // a keyless local server
      }
      refuseClearText(base, 'OPENAI_API_KEY');
      return { url: `${base}/models`, headers: { authorization: `Bearer ${key}` }, keyVariable: 'OPENAI_API_KEY' };
    }
    case 'anthropic': {
      const key = environment.ANTHROPIC_API_KEY;
      if (!present(key))
        throw new ProviderPreflightError(`${spec}: no API key: set ANTHROPIC_API_KEY in the environment`);
      const base = (options.baseURL || environment.ANTHROPIC_BASE_URL?.trim() || ANTHROPIC_API)
        .replace(/\/+$/, '')
        .replace(/\/v1$/, '');
      refuseClearText(base, 'ANTHROPIC_API_KEY');
      return {
        url: `${base}/v1/models`,
        headers: { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION },
        keyVariable: 'ANTHROPIC_API_KEY',
      };
    }
  }
}

/** Checks one provider spec; throws ProviderPreflightError in one line (never holding the key). */
export async function preflightProvider(spec: string, options: PreflightOptions = {}): Promise<void> {
  let probe: Probe | undefined;
  try {
    probe = probeOf(spec, options);
  } catch (error) {
    if (error instanceof ProviderPreflightError) throw error;
    throw new ProviderPreflightError((error as Error).message);
  }
  if (!probe) return;
  const fetchFunction = options.fetch ?? fetch;
  let status: number;
  try {
    const response = await fetchFunction(probe.url, {
      method: 'GET',
      headers: probe.headers,
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    status = response.status;
    await response.body?.cancel();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? 'no answer in time'
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    throw new ProviderPreflightError(
      `${spec}: cannot reach ${describeHost(probe.url)} (${why}); check --base-url and the network`,
    );
  }
  if (status === 401 || status === 403) {
    throw new ProviderPreflightError(
      probe.keyVariable
        ? `${spec}: ${describeHost(probe.url)} refused the API key in ${probe.keyVariable} (HTTP ${status})`
        : `${spec}: ${describeHost(probe.url)} needs an API key (HTTP ${status}): set OPENAI_API_KEY in the environment`,
    );
  }
}

/** Checks every distinct spec (with the run's base URL), one after the other; the first failure throws. */
export async function preflightProviders(specs: readonly string[], options: PreflightOptions = {}): Promise<void> {
  for (const spec of new Set(specs)) await preflightProvider(spec, options);
}
