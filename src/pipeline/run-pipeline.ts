/**
 * @module pipeline/run-pipeline — runs (or resumes) a whole run: loads and validates every record first, then
 * processes features with bounded concurrency, saving each as one transaction the moment it completes. A stop
 * signal (first Ctrl+C), a spent budget (`maxCostUsd`) or a run of consecutive failures (an unreachable provider)
 * stops scheduling new features, lets the ones in flight finish and marks the run "interrupted". Failed features
 * are retried by a resume. Providers the pipeline creates get the reliability wrappers (cache, retry, rate limit).
 * With `batch`, the same units of work run in phases through the providers' Batch APIs (batch-mode.ts).
 */
import pLimit from 'p-limit';
import { createProvider } from '../llm/create-provider.ts';
import { loadPriceTable } from '../llm/price-table.ts';
import { RateLimiter } from '../llm/rate-limiter.ts';
import { createReliableProvider } from '../llm/reliable-provider.ts';
import { createSqliteResponseCache, type ResponseCache } from '../llm/response-cache.ts';
import { mulberry32 } from '../records/random.ts';
import { loadExplainTemplate, loadSimulateTemplate } from '../llm/prompt-template.ts';
import { getEncoder } from '../llm/token-counter.ts';
import type { Provider } from '../llm/types.ts';
import { loadFeatureRecordsWithDigest } from '../records/load.ts';
import { featureKey, type FeatureRecord } from '../records/types.ts';
import type { ResultStore, RunRow } from '../store/result-store.ts';
import { parsePipelineConfig, resolveSource, shardNameSuffix, shardOfFeature, type OperationalOverrides, type PipelineConfig, type PipelineConfigInput } from './config.ts';
import { createAblationScorer, knownSaeFolders } from './ablation-scorer.ts';
import { recordRunSaes } from './record-saes.ts';
import { processFeature, type CallEvent, type ProcessedFeature } from './process-feature.ts';
import { createBatchClient } from '../llm/batch/create-batch-client.ts';
import type { BatchClient } from '../llm/batch/types.ts';
import { BatchStore } from '../store/batch-store.ts';
import { runBatchMode, type BatchEvent } from './batch-mode.ts';

export const CODE_VERSION = 'autointerp@0.1.0';

export interface PipelineEvents {
  /** Called once the records are loaded: features in the run and how many a resumed run had already finished. */
  onStart?(info: { runId: number; total: number; alreadyDone: number; explainer: Provider; simulator: Provider }): void;
  onFeatureDone?(processed: ProcessedFeature): void;
  /** Every LLM call's start and end (calls in flight, tokens, spend). */
  onCall?(event: CallEvent): void;
  /** Batch mode: requests collected, batches submitted, polled, stored, left pending. */
  onBatch?(event: BatchEvent): void;
}

export interface RunPipelineOptions {
  store: ResultStore;
  /** Resume this run (its stored config is used; `config` is ignored). */
  resumeRunId?: number;
  /** Stops scheduling new features; those in flight finish and are saved (the CLI's first Ctrl+C). */
  stopSignal?: AbortSignal;
  /** Aborts LLM requests in flight (their features are not saved and are redone on resume). */
  signal?: AbortSignal;
  events?: PipelineEvents;
  /**
   * Injected providers (tests, library users), used as given (wrap them with createReliableProvider if wanted);
   * default: created from the config's provider specs, with cache, retry and rate limits around them.
   */
  explainer?: Provider;
  simulator?: Provider;
  /** On resume: execution options to change (budget, limits, cache…); results-defining options stay stored. */
  overrides?: OperationalOverrides;
  /** Batch mode: injected Batch API clients (default: created from the config's provider specs). */
  batchClients?: { explainer?: BatchClient; simulator?: BatchClient };
}

export interface RunSummary {
  runId: number;
  status: 'finished' | 'interrupted';
  total: number;
  scored: number;
  skipped: number;
  failed: number;
  /** Features processed by this invocation (not counting those a resumed run had done). */
  processedNow: number;
  /** Features not done yet (0 when finished). */
  remaining: number;
  durationMs: number;
  /** USD spent by the whole run so far (all invocations), from priced calls; cached answers cost 0. */
  costUsd: number;
  /** Calls whose price was unknown (not in the price table): their cost is not in `costUsd`. */
  unpricedCalls: number;
  /** The budget, when one was set. */
  maxCostUsd?: number;
  /**
   * Why the run stopped before finishing: Ctrl+C, the budget, features that kept failing, or (batch mode) batches
   * left pending after `batchMaxWaitMs` (resume to poll them again).
   */
  stoppedBy?: 'signal' | 'budget' | 'failures' | 'batch-pending';
  /** Why some features got no ablation score (no subject model, no token ids, …), one line per cause. */
  ablationNotes?: string[];
  /** The reason of the last failed feature, when any failed. */
  lastFailure?: string;
}

/**
 * Consecutive failed features after which a run stops scheduling: with every feature failing (a wrong key, a
 * server that is down), going on would only record the same failure thousands of times.
 */
export const MAX_CONSECUTIVE_FAILURES = 10;


function defaultRunName(config: PipelineConfig): string {
  const source = config.source === 'demo' ? 'demo' : config.source.split('/').filter(Boolean).at(-1) ?? config.source;
  return `${source} · ${config.explainer} → ${config.simulator}`;
}

/** The run's name: `--name` or one derived from source and models, ending with ` [shard i/n]` for a shard run. */
function runName(config: PipelineConfig): string {
  return `${config.name ?? defaultRunName(config)}${config.shard ? shardNameSuffix(config.shard) : ''}`;
}

function startOrResume(store: ResultStore, options: RunPipelineOptions, input: PipelineConfigInput | undefined) {
  if (options.resumeRunId !== undefined) {
    const run: RunRow | undefined = store.getRun(options.resumeRunId);
    if (!run) throw new Error(`no run ${options.resumeRunId} in this database`);
    if (run.status === 'finished' && store.runProgress(run.id).failed === 0) {
      throw new Error(`run ${run.id} is already finished with no failed feature; nothing to resume`);
    }
    // How long to wait on pending batches is a choice of each invocation, not of the run.
    const { batchMaxWaitMs: _perInvocation, ...stored } = JSON.parse(run.config) as PipelineConfigInput;
    return { run, config: parsePipelineConfig({ ...stored, ...options.overrides }) };
  }
  return { run: undefined, config: parsePipelineConfig(input ?? {}) };
}

/** Runs the explain → simulate → score pipeline and stores every result. */
export async function runPipeline(input: PipelineConfigInput | undefined, options: RunPipelineOptions): Promise<RunSummary> {
  const started = performance.now();
  const { store } = options;
  const { run: resumed, config } = startOrResume(store, options, input);
  const prices = loadPriceTable(config.prices);
  const cache = config.cache ? createSqliteResponseCache(store.db) : undefined;
  const { explainer, simulator } = buildProviders(config, options, cache);
  const batchClients = config.batch ? buildBatchClients(config, options, explainer, simulator) : undefined;
  if (config.maxCostUsd !== undefined) {
    for (const provider of [explainer, simulator]) {
      if (!prices.priceOf(provider.id)) {
        throw new Error(`--max-cost needs a price for ${provider.id}: add it to a price table given with --prices FILE`);
      }
    }
  }
  const explainTemplate = loadExplainTemplate(config.explainPrompt);
  const simulateTemplate = loadSimulateTemplate(config.simulatePrompt);

  // Validate all input before anything is written: a bad file fails the run before it starts.
  const loaded = await loadFeatureRecordsWithDigest(resolveSource(config), { model: config.model });
  let features: FeatureRecord[] = loaded.records;
  if (config.limit !== undefined) features = features.slice(0, config.limit);
  if (config.shard) {
    const { index, count } = config.shard;
    features = features.filter((feature) => shardOfFeature(featureKey(feature.id), count) === index);
  }
  const sourceDigest = loaded.digest; // of the whole source, with `limit` in the stored config
  if (resumed?.source_digest && resumed.source_digest !== sourceDigest) {
    throw new Error(
      `the feature records of ${config.source} changed since run ${resumed.id} started; resuming would mix two datasets — start a new run`,
    );
  }
  const encoder = await getEncoder();
  const countTokens = (text: string) => encoder.encode(text, 'all').length;

  const runId =
    resumed?.id ??
    store.createRun({
      name: runName(config),
      config,
      codeVersion: CODE_VERSION,
      promptVersions: { explain: explainTemplate.version, simulate: simulateTemplate.version },
      explainer: explainer.id,
      simulator: simulator.id,
      isBaseline: explainer.isBaseline || simulator.isBaseline,
      source: config.source,
      sourceDigest,
    });
  store.setRunStatus(runId, 'running');

  const done = store.settledFeatureKeys(runId);
  const todo = features.filter((feature) => !done.has(featureKey(feature.id)));
  options.events?.onStart?.({ runId, total: features.length, alreadyDone: features.length - todo.length, explainer, simulator });

  const limit = pLimit(config.concurrency);
  let processedNow = 0;
  const spent = spentSoFar(store, runId);
  const budgetSpent = () => config.maxCostUsd !== undefined && spent.costUsd >= config.maxCostUsd;
  let stoppedBy: RunSummary['stoppedBy'];
  recordRunSaes(store.db, features, knownSaeFolders(config.saes));
  const ablation = config.ablation ? createAblationScorer({ subjectModels: config.subjectModels, saes: config.saes }) : undefined;
  const context = {
    config,
    explainer,
    simulator,
    explainTemplate,
    simulateTemplate,
    countTokens,
    ...(ablation ? { ablation } : {}),
    costOf: (providerId: string, usage: { promptTokens: number; completionTokens: number }, cached: boolean, batch: boolean) =>
      prices.costOf(providerId, usage, cached, batch),
    ...(options.events?.onCall ? { onCall: options.events.onCall } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let consecutiveFailures = 0;
  let lastFailure: string | undefined;
  let fatal: unknown;
  const countSpend = (processed: ProcessedFeature) => {
    for (const call of processed.calls) {
      if (call.costUsd === null) spent.unpricedCalls += 1;
      else spent.costUsd += call.costUsd;
    }
  };
  /** Saves one unit of work (one transaction) and counts it. */
  const save = (processed: ProcessedFeature) => {
    countSpend(processed);
    store.saveFeatureResult(runId, processed.result, processed.calls);
    processedNow += 1;
    if (processed.result.status === 'failed') {
      consecutiveFailures += 1;
      lastFailure = processed.result.reason;
    } else consecutiveFailures = 0;
    options.events?.onFeatureDone?.(processed);
  };
  const stopReason = (): RunSummary['stoppedBy'] | undefined => {
    if (options.stopSignal?.aborted || options.signal?.aborted) return 'signal';
    if (budgetSpent()) return 'budget'; // between units of work: features in flight finish, no new one starts
    if (consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) return 'failures';
    return undefined;
  };
  if (batchClients) {
    try {
      const outcome = await runBatchMode({
        runId,
        todo,
        batchStore: new BatchStore(store.db),
        context,
        clients: batchClients,
        ...(cache ? { cache } : {}),
        pollMs: config.batchPollMs,
        ...(config.batchMaxWaitMs !== undefined ? { maxWaitMs: config.batchMaxWaitMs } : {}),
        retry: { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseDelayMs, random: mulberry32(config.seed) },
        ...(config.maxCostUsd !== undefined ? { budget: { spentUsd: spent.costUsd, maxCostUsd: config.maxCostUsd, prices } } : {}),
        ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        save,
        ...(options.events?.onBatch ? { onBatch: options.events.onBatch } : {}),
      });
      stoppedBy = outcome.stoppedBy;
    } catch (error) {
      fatal = error; // a batch API call that kept failing, or a storage error: the batches recorded so far stay
    }
  } else {
    await Promise.allSettled(
      todo.map((feature) =>
        limit(async () => {
          if (fatal !== undefined) return;
          const reason = stopReason();
          if (reason) {
            stoppedBy ??= reason;
            return;
          }
          try {
            const processed = await processFeature(feature, context);
            if (options.signal?.aborted && processed.result.status === 'failed') {
              countSpend(processed); // cut short by the abort: redo on resume (its spend still counts)
              return;
            }
            save(processed);
          } catch (error) {
            // A bug or a storage error: stop everything, nothing more is scheduled.
            fatal ??= error;
            limit.clearQueue();
          }
        }),
      ),
    );
  }
  ablation?.dispose();
  if (fatal !== undefined) {
    store.setRunStatus(runId, 'failed');
    throw fatal;
  }
  const progress = store.runProgress(runId);
  const doneCount = progress.scored + progress.skipped + progress.failed;
  const complete = doneCount === features.length;
  const status = complete && stoppedBy === undefined ? 'finished' : 'interrupted';
  store.setRunStatus(runId, status);
  return {
    runId,
    status,
    total: features.length,
    ...progress,
    processedNow,
    remaining: features.length - doneCount,
    durationMs: performance.now() - started,
    costUsd: spent.costUsd,
    unpricedCalls: spent.unpricedCalls,
    ...(config.maxCostUsd !== undefined ? { maxCostUsd: config.maxCostUsd } : {}),
    ...(status === 'interrupted' && stoppedBy ? { stoppedBy } : {}),
    ...(lastFailure !== undefined ? { lastFailure } : {}),
    ...(ablation && ablation.notes.size > 0 ? { ablationNotes: [...ablation.notes] } : {}),
  };
}

/** The Batch API clients of a batch-mode run: injected ones, else created from the provider specs. */
function buildBatchClients(config: PipelineConfig, options: RunPipelineOptions, explainer: Provider, simulator: Provider): { explainer: BatchClient; simulator: BatchClient } {
  const create = (spec: string, provider: Provider): BatchClient => {
    if (provider.isBaseline || !provider.capabilities.batch) {
      throw new Error(`--batch: ${provider.id} has no Batch API (batch mode needs openai:, openai-compatible: or anthropic: providers)`);
    }
    return createBatchClient(spec, { ...(config.baseUrl ? { baseURL: config.baseUrl } : {}), timeoutMs: config.requestTimeoutMs });
  };
  const explainerClient = options.batchClients?.explainer ?? create(config.explainer, explainer);
  const simulatorClient =
    options.batchClients?.simulator ?? (config.simulator === config.explainer && !options.batchClients?.explainer ? explainerClient : create(config.simulator, simulator));
  for (const [client, provider] of [[explainerClient, explainer], [simulatorClient, simulator]] as const) {
    if (client.providerId !== provider.id) throw new Error(`--batch: the batch client of ${client.providerId} cannot answer for ${provider.id}`);
  }
  return { explainer: explainerClient, simulator: simulatorClient };
}

/** What a run has spent in earlier invocations (from its llm_calls rows). */
function spentSoFar(store: ResultStore, runId: number): { costUsd: number; unpricedCalls: number } {
  const row = store.db
    .prepare('SELECT COALESCE(SUM(cost_usd), 0) AS cost, SUM(cost_usd IS NULL) AS unpriced FROM llm_calls WHERE run_id = ?')
    .get(runId) as { cost: number; unpriced: number | null };
  return { costUsd: row.cost, unpricedCalls: row.unpriced ?? 0 };
}

/**
 * The run's explainer and simulator. Injected ones are used as given. Created ones (other than the offline
 * baseline) are wrapped with cache, retry and limits; providers on the same API share one limiter, and the same
 * spec for both roles gives one provider.
 */
function buildProviders(
  config: PipelineConfig,
  options: RunPipelineOptions,
  cache: ResponseCache | undefined,
): { explainer: Provider; simulator: Provider } {
  const limiters = new Map<string, RateLimiter>();
  const random = mulberry32(config.seed);
  const created = new Map<string, Provider>();
  const build = (spec: string): Provider => {
    const existing = created.get(spec);
    if (existing) return existing;
    const base = createProvider(spec, { ...(config.baseUrl ? { baseURL: config.baseUrl } : {}), timeoutMs: config.requestTimeoutMs });
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
  return { explainer: options.explainer ?? build(config.explainer), simulator: options.simulator ?? build(config.simulator) };
}
