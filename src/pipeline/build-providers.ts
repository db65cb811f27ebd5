/**
 * @module pipeline/build-providers — the run's explainer, simulator and judge (and, in batch mode, their Batch API
 * clients): injected ones as given; created ones from the config's provider specs, wrapped with cache, retry and
 * rate limits. The judge defaults to the simulator (the same provider). A budget (`maxCostUsd`) needs a price for each.
 */
import { createBatchClient } from '../llm/batch/create-batch-client.ts';
import type { BatchClient } from '../llm/batch/types.ts';
import { createProvider } from '../llm/create-provider.ts';
import type { PriceTable } from '../llm/price-table.ts';
import { RateLimiter } from '../llm/rate-limiter.ts';
import { createReliableProvider } from '../llm/reliable-provider.ts';
import type { ResponseCache } from '../llm/response-cache.ts';
import type { Provider } from '../llm/types.ts';
import { mulberry32 } from '../common/random.ts';
import type { PipelineConfig } from './config.ts';
import { InputError } from '../common/errors.ts';

export interface RunProviders {
  explainer: Provider;
  simulator: Provider;
  /** The judge of the judged scorers: `config.judge`, else the simulator. */
  judge: Provider;
}

export interface RunBatchClients {
  explainer: BatchClient;
  simulator: BatchClient;
  judge: BatchClient;
}

/** True when the run's judge is its simulator: no `judge`, or the simulator's spec. */
export const judgeIsSimulator = (config: Pick<PipelineConfig, 'judge' | 'simulator'>): boolean =>
  config.judge === undefined || config.judge === config.simulator;

/**
 * The run's explainer and simulator. Injected ones are used as given. Created ones (other than the offline
 * baseline) are wrapped with cache, retry and limits; providers on the same API share one limiter, and the same
 * spec for both roles gives one provider.
 */
export function buildProviders(
  config: PipelineConfig,
  injected: Partial<RunProviders>,
  cache: ResponseCache | undefined,
): RunProviders {
  const limiters = new Map<string, RateLimiter>();
  const random = mulberry32(config.seed);
  const created = new Map<string, Provider>();
  const build = (spec: string): Provider => {
    const existing = created.get(spec);
    if (existing) return existing;
    const base = createProvider(spec, {
      ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
      timeoutMs: config.requestTimeoutMs,
    });
    let provider = base;
    if (!base.isBaseline) {
      const api = `${base.id.split(':')[0]}|${config.baseUrl ?? ''}`;
      let limiter = limiters.get(api);
      if (!limiter) {
        limiter = new RateLimiter({
          windowMs: config.rateWindowMs,
          ...(config.requestsPerMinute !== undefined ? { requestsPerMinute: config.requestsPerMinute } : {}),
          ...(config.tokensPerMinute !== undefined ? { tokensPerMinute: config.tokensPerMinute } : {}),
          ...(config.requestConcurrency !== undefined ? { concurrency: config.requestConcurrency } : {}),
        });
        limiters.set(api, limiter);
      }
      provider = createReliableProvider(base, {
        limiter,
        random,
        retry: { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseDelayMs },
        ...(config.cache && cache ? { cache } : {}),
      });
    }
    created.set(spec, provider);
    return provider;
  };
  const simulator = injected.simulator ?? build(config.simulator);
  return {
    explainer: injected.explainer ?? build(config.explainer),
    simulator,
    judge: injected.judge ?? (judgeIsSimulator(config) ? simulator : build(config.judge!)),
  };
}

/** The Batch API clients of a batch-mode run: injected ones, else created from the provider specs. */
export function buildBatchClients(
  config: PipelineConfig,
  injected: Partial<RunBatchClients> | undefined,
  providers: RunProviders,
): RunBatchClients {
  const { explainer, simulator, judge } = providers;
  const create = (spec: string, provider: Provider): BatchClient => {
    if (provider.isBaseline || !provider.capabilities.batch) {
      throw new InputError(
        `--batch: ${provider.id} has no Batch API (batch mode needs openai:, openai-compatible: or anthropic: providers)`,
      );
    }
    return createBatchClient(spec, {
      ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
      timeoutMs: config.requestTimeoutMs,
    });
  };
  const explainerClient = injected?.explainer ?? create(config.explainer, explainer);
  const simulatorClient =
    injected?.simulator ??
    (config.simulator === config.explainer && !injected?.explainer
      ? explainerClient
      : create(config.simulator, simulator));
  const judgeClient =
    injected?.judge ??
    (judge === simulator
      ? simulatorClient
      : judge === explainer
        ? explainerClient
        : create(config.judge ?? config.simulator, judge));
  for (const [client, provider] of [
    [explainerClient, explainer],
    [simulatorClient, simulator],
    [judgeClient, judge],
  ] as const) {
    if (client.providerId !== provider.id)
      throw new InputError(`--batch: the batch client of ${client.providerId} cannot answer for ${provider.id}`);
  }
  return { explainer: explainerClient, simulator: simulatorClient, judge: judgeClient };
}

/** A budget needs a price for every provider of the run (else spend could not be counted). */
export function requireBudgetPrices(config: PipelineConfig, prices: PriceTable, providers: RunProviders): void {
  if (config.maxCostUsd === undefined) return;
  for (const provider of [providers.explainer, providers.simulator, providers.judge]) {
    if (!prices.priceOf(provider.id)) {
      throw new InputError(
        `--max-cost needs a price for ${provider.id}: add it to a price table given with --prices FILE`,
      );
    }
  }
}
