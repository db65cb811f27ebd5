/**
 * @module pipeline/run-pipeline — runs (or resumes) a whole run: loads and validates every record first, then
 * processes features with bounded concurrency, saving each as one transaction the moment it completes. A stop
 * signal (first Ctrl+C), a spent budget (`maxCostUsd`) or a run of consecutive failures (an unreachable provider)
 * stops scheduling new features, lets the ones in flight finish and marks the run "interrupted". Failed features
 * are retried by a resume. Providers the pipeline creates get the reliability wrappers (cache, retry, rate limit)
 * and are checked first (key present, server answers; llm/provider-preflight.ts). A run is held by one process at a
 * time (store/run-lease.ts). A fatal error (a storage error such as a full disk, a bug) marks the run "failed" and
 * throws one RunFailedError. With `batch`, the same units of work run in phases through the providers' Batch APIs
 * (batch-mode.ts).
 */
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
import { forEachBounded } from './bounded-workers.ts';
import { preflightProviders } from '../llm/provider-preflight.ts';
import { reserveDiskSpace, type DiskReserve } from '../store/disk-reserve.ts';
import { acquireRunLease, DEFAULT_LEASE_TTL_MS, LeaseLostError, type RunLease, type RunLeaseOptions } from '../store/run-lease.ts';

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
  /**
   * Where results go; a function opens it only once a new run's input is validated and its providers answer (so a
   * bad records file creates no database file). A resume opens it first (its config is stored there).
   */
  store: ResultStore | (() => ResultStore);
  /** The run lease's clock, time to live and identity (tests); default: this process, Date.now, 60 s. */
  lease?: RunLeaseOptions;
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

function startOrResume(store: ResultStore | undefined, options: RunPipelineOptions, input: PipelineConfigInput | undefined) {
  if (options.resumeRunId !== undefined && store) {
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

/** A fatal error of a started run (a storage error, a bug): the run is marked failed where the database allows. */
export class RunFailedError extends Error {
  override readonly name = 'RunFailedError';
  constructor(
    readonly runId: number,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

/** `run N failed: …`, naming the database file for SQLite errors (a full disk, a read-only file). */
function describeFatal(runId: number, error: unknown, db: ResultStore['db']): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const where = typeof code === 'string' && code.startsWith('SQLITE_') ? `database ${db.name}: ` : '';
  return `run ${runId} failed: ${where}${message}`;
}

/** Runs the explain → simulate → score pipeline and stores every result. */
export async function runPipeline(input: PipelineConfigInput | undefined, options: RunPipelineOptions): Promise<RunSummary> {
  const started = performance.now();
  const given = options.store;
  const openStore = typeof given === 'function' ? given : () => given;
  // A resumed run's config is in the database; a new run opens it only once its input is validated.
  let store: ResultStore | undefined = options.resumeRunId !== undefined ? openStore() : undefined;
  const { run: resumed, config } = startOrResume(store, options, input);
  // A second invocation of a run is refused before it does anything (the lease is released in `finally`).
  let lease: RunLease | undefined = resumed && store ? acquireRunLease(store.db, resumed.id, options.lease) : undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let reserve: DiskReserve | undefined;
  let markInterruptedOnExit: (() => void) | undefined;
  try {
    const prices = loadPriceTable(config.prices);
    const explainTemplate = loadExplainTemplate(config.explainPrompt);
    const simulateTemplate = loadSimulateTemplate(config.simulatePrompt);

    // Validate all input before anything is written: a bad file fails the run before it starts (and, for a new
    // run, before the database file is created).
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
    // Every provider the run creates has its key and answers, before a run row exists (injected ones are the caller's).
    const created = [...(options.explainer ? [] : [config.explainer]), ...(options.simulator ? [] : [config.simulator])];
    await preflightProviders(created, { ...(config.baseUrl ? { baseURL: config.baseUrl } : {}), timeoutMs: Math.min(config.requestTimeoutMs, 15_000) });

    store ??= openStore();
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
    const heldLease = (lease ??= acquireRunLease(store.db, runId, options.lease));
    store.setRunStatus(runId, 'running');
    const runStore = store;
    reserve = reserveDiskSpace(runStore.db.name);
    // A forced exit (second Ctrl+C) ends the process without unwinding: the run is then interrupted, not running.
    markInterruptedOnExit = () => {
      try {
        if (!runStore.db.open) return;
        if (runStore.getRun(runId)?.status === 'running') runStore.setRunStatus(runId, 'interrupted');
        heldLease.release();
        reserve?.free();
      } catch {
        // exiting anyway; a stale lease is taken over by the next resume
      }
    };
    process.once('exit', markInterruptedOnExit);
    let leaseLost: LeaseLostError | undefined;
    heartbeatTimer = setInterval(() => {
      try {
        heldLease.heartbeat();
      } catch (error) {
        if (error instanceof LeaseLostError) leaseLost ??= error; // else: a busy or full database; the next save says so
      }
    }, Math.max(1000, (options.lease?.ttlMs ?? DEFAULT_LEASE_TTL_MS) / 4));
    heartbeatTimer.unref();

    try {
      const done = runStore.settledFeatureKeys(runId);
      const todo = features.filter((feature) => !done.has(featureKey(feature.id)));
      options.events?.onStart?.({ runId, total: features.length, alreadyDone: features.length - todo.length, explainer, simulator });

      let processedNow = 0;
      const spent = spentSoFar(runStore, runId);
      const budgetSpent = () => config.maxCostUsd !== undefined && spent.costUsd >= config.maxCostUsd;
      let stoppedBy: RunSummary['stoppedBy'];
      // One transaction: a commit that fails (a full disk) then throws here; the INSERT … RETURNING inside, committed
      // on its own, failed silently and left a dangling SAE id (seen as "FOREIGN KEY constraint failed").
      runStore.db.transaction(() => recordRunSaes(runStore.db, features, knownSaeFolders(config.saes)))();
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
      const countSpend = (processed: ProcessedFeature) => {
        for (const call of processed.calls) {
          // A call that never got an answer (no key, refused, unreachable) was not billed: not an "unpriced call".
          if (call.costUsd === null) spent.unpricedCalls += call.status === 'ok' ? 1 : 0;
          else spent.costUsd += call.costUsd;
        }
      };
      // One transaction: the lease is still this invocation's (its heartbeat renewed), then the unit of work.
      const saveHeld = runStore.db.transaction((processed: ProcessedFeature) => {
        heldLease.heartbeat();
        runStore.saveFeatureResult(runId, processed.result, processed.calls);
      });
      /** Saves one unit of work (one transaction) and counts it. */
      const save = (processed: ProcessedFeature) => {
        countSpend(processed);
        saveHeld.immediate(processed);
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
      try {
        if (batchClients) {
          // A batch API call that kept failing, or a storage error, throws: the batches recorded so far stay.
          const outcome = await runBatchMode({
            runId,
            todo,
            batchStore: new BatchStore(runStore.db),
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
        } else {
          // Bounded concurrency; a yield to the event loop before each feature lets Ctrl+C in even when every feature
          // is synchronous work (the offline baseline). A thrown error (a bug, a storage error) stops new features.
          await forEachBounded(
            todo,
            config.concurrency,
            async (feature) => {
              const processed = await processFeature(feature, context);
              if (options.signal?.aborted && processed.result.status === 'failed') {
                countSpend(processed); // cut short by the abort: redo on resume (its spend still counts)
                return;
              }
              save(processed);
            },
            () => {
              if (leaseLost) throw leaseLost;
              const reason = stopReason();
              if (reason) stoppedBy ??= reason;
              return reason !== undefined;
            },
          );
        }
      } finally {
        ablation?.dispose();
      }
      const progress = runStore.runProgress(runId);
      const doneCount = progress.scored + progress.skipped + progress.failed;
      const complete = doneCount === features.length;
      const status = complete && stoppedBy === undefined ? 'finished' : 'interrupted';
      runStore.setRunStatus(runId, status);
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
    } catch (error) {
      // Another process took the run over: it is that process's to mark; this one only stops.
      if (error instanceof LeaseLostError) throw error;
      let message = describeFatal(runId, error, runStore.db);
      reserve?.free(); // room to record the end on a full disk
      try {
        runStore.setRunStatus(runId, 'failed');
      } catch (markError) {
        message += `; marking it failed failed too (${(markError as Error).message}): resume it with \`autointerp run --resume ${runId}\``;
      }
      throw new RunFailedError(runId, message, { cause: error });
    }
  } finally {
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    reserve?.free();
    if (markInterruptedOnExit) process.off('exit', markInterruptedOnExit);
    try {
      lease?.release();
    } catch {
      // a database that cannot be written (full disk): the lease goes stale and is taken over by the next resume
    }
  }
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

/** What a run has spent in earlier invocations (from its llm_calls rows; unanswered calls are not unpriced ones). */
function spentSoFar(store: ResultStore, runId: number): { costUsd: number; unpricedCalls: number } {
  const row = store.db
    .prepare(`SELECT COALESCE(SUM(cost_usd), 0) AS cost, SUM(cost_usd IS NULL AND status = 'ok') AS unpriced FROM llm_calls WHERE run_id = ?`)
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
