/**
 * @module llm/create-provider — turns a provider spec (`provider:model`, as promptfoo users know them) into a
 * Provider: `baseline` / `baseline:rule-based-v1` (offline baseline, not an LLM), `openai:<model>`,
 * `openai-compatible:<model>` (needs a base URL), `anthropic:<model>` (Messages API; a base URL points it at a
 * compatible server such as the fake one).
 */
import { createAnthropicProvider } from './anthropic-provider.ts';
import { createBaselineProvider } from './baseline/baseline-provider.ts';
import { createOpenAiCompatibleProvider } from './openai-compatible-provider.ts';
import { ruleBasedModelName } from './baseline/rule-based-model.ts';
import type { Provider } from './types.ts';
import { InputError } from '../common/errors.ts';

export const knownProviders = ['baseline', 'openai', 'openai-compatible', 'anthropic'] as const;
export type ProviderName = (typeof knownProviders)[number];

export interface ProviderSpec {
  provider: ProviderName;
  model: string;
}

export interface CreateProviderOptions {
  /** Base URL of an OpenAI-compatible server (`--base-url`); required for `openai-compatible:`. */
  baseURL?: string;
  /** API key; default: read from the environment at request time (see openai-compatible-provider.ts). */
  apiKey?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

const knownList = 'baseline, baseline:rule-based-v1, openai:<model>, openai-compatible:<model>, anthropic:<model>';

/** Parses `provider:model` (the model may itself hold colons, e.g. `openai-compatible:llama3:8b`). */
export function parseProviderSpec(spec: string): ProviderSpec {
  const trimmed = spec.trim();
  const colon = trimmed.indexOf(':');
  const provider = colon === -1 ? trimmed : trimmed.slice(0, colon);
  const model = colon === -1 ? '' : trimmed.slice(colon + 1).trim();
  if (!(knownProviders as readonly string[]).includes(provider)) {
    throw new InputError(`unknown provider "${provider}" in "${spec}"; known: ${knownList}`);
  }
  if (provider === 'baseline') {
    if (model !== '' && model !== ruleBasedModelName) {
      throw new InputError(`unknown baseline model "${model}"; the baseline is baseline:${ruleBasedModelName}`);
    }
    return { provider, model: ruleBasedModelName };
  }
  if (model === '') throw new InputError(`provider spec "${spec}" names no model; write ${provider}:<model>`);
  return { provider: provider as ProviderName, model };
}

/** The options every SDK-backed client takes (model, key, fetch, timeout), from the ones given. */
export function sdkClientOptions(model: string, options: CreateProviderOptions) {
  return {
    model,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
}

/** Creates the provider a spec names. */
export function createProvider(spec: string, options: CreateProviderOptions = {}): Provider {
  const parsed = parseProviderSpec(spec);
  const shared = sdkClientOptions(parsed.model, options);
  switch (parsed.provider) {
    case 'baseline':
      return createBaselineProvider();
    case 'openai':
      // A base URL here (a proxy in front of OpenAI) makes the id openai-compatible:<model>.
      return createOpenAiCompatibleProvider({ ...shared, ...(options.baseURL ? { baseURL: options.baseURL } : {}) });
    case 'openai-compatible':
      if (!options.baseURL) {
        throw new InputError(
          `${spec} needs a base URL (--base-url http://host:port/v1) of an OpenAI-compatible server`,
        );
      }
      return createOpenAiCompatibleProvider({ ...shared, baseURL: options.baseURL });
    case 'anthropic':
      return createAnthropicProvider({ ...shared, ...(options.baseURL ? { baseURL: options.baseURL } : {}) });
  }
}
