/**
 * @module pipeline/run-pipeline — runs (or resumes) a whole run: validates every record first (a pass over the source
 * that keeps none), then streams the features from the source through bounded concurrency, saving each the moment it
 * completes (features done close together share a commit: save-features.ts; memory does not grow with the number of
 * features). A stop
 * signal (first Ctrl+C), a spent budget (`maxCostUsd`) or a run of consecutive failures (an unreachable provider)
 * stops scheduling new features, lets the ones in flight finish and marks the run "interrupted". Failed features
 * are retried by a resume. Providers the pipeline creates get the reliability wrappers (cache, retry, rate limit)
 * and are checked first (key present, server answers; llm/provider-preflight.ts). A run is held by one process at a
 * time (store/run-lease.ts). A fatal error (a storage error such as a full disk, a bug) marks the run "failed" and
 * throws one RunFailedError. With `batch`, the same units of work run in phases through the providers' Batch APIs
 * (batch-mode.ts).
 *
 * The stages, one module each: the config (resolve-run-config.ts), the records (load-run-features.ts: a first pass,
 * then a stream), the providers
 * (build-providers.ts), the scorers (select-scorers.ts) and the subject models they may need (feature-models.ts),
 * holding the run (hold-run.ts), a scheduler (live-scheduler.ts or batch-scheduler.ts) around the unit of work
 * (process-feature.ts), saving (save-features.ts, a separate step) and the summary (run-summary.ts); this function
 * wires them in order.
 */
import { countTokensNow, getEncoder } from '../llm/token-counter.ts';
import { loadPriceTable } from '../llm/price-table.ts';
import { loadExplainTemplate } from '../explain/explain-template.ts';
import { loadSimulateTemplate } from '../simulate/simulate-template.ts';
import { preflightProviders } from '../llm/provider-preflight.ts';
import { createSqliteResponseCache } from '../store/response-cache-table.ts';
import type { BatchClient } from '../llm/batch/types.ts';
import type { Provider } from '../llm/types.ts';
import type { ResultStore } from '../store/result-store.ts';
import { acquireRunLease, LeaseLostError, type RunLease, type RunLeaseOptions } from '../store/run-lease.ts';
import { RunFailedError } from './run-failed-error.ts';
import { codeVersion } from '../common/package-version.ts';
import { scorers as registeredScorers } from '../score/registry.ts';
import type { Scorer } from '../score/scorer.ts';
import { createFeatureModels, knownSaeFolders, type RunFeatureModels } from './feature-models.ts';
import { selectScorers } from './select-scorers.ts';
import type { BatchEvent } from './batch-mode.ts';
import { runBatchScheduler } from './batch-scheduler.ts';
import {
  buildBatchClients,
  buildProviders,
  judgeIsSimulator,
  requireBudgetPrices,
  type RunProviders,
} from './build-providers.ts';
import type { OperationalOverrides, PipelineConfig, PipelineConfigInput } from './config.ts';
import { holdRun, type RunHold } from './hold-run.ts';
import { runLiveScheduler } from './live-scheduler.ts';
import { scanRunFeatures, streamRunFeatures } from './load-run-features.ts';
import type { FeatureRecord } from '../records/types.ts';
import type { CallEvent, FeatureContext, ProcessedFeature } from './process-feature.ts';
import { recordRunSaes } from './record-saes.ts';
import { resolveRunConfig, runName } from './resolve-run-config.ts';
import { finishRun, type RunSummary } from './run-summary.ts';
import { createFeatureSaver, type FeatureSaver } from './save-features.ts';

export interface PipelineEvents {
  /** Called once the records are loaded: features in the run and how many a resumed run had already finished. */
  onStart?(info: {
    runId: number;
    total: number;
    alreadyDone: number;
    explainer: Provider;
    simulator: Provider;
    /** The selected scorers' names, in order. */
    scorers: string[];
    /** The judge, when a selected scorer needs one. */
    judge?: Provider;
  }): void;
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
  /** The judge of the judged scorers (default: created from `config.judge`, else the simulator). */
  judge?: Provider;
  /**
   * The scorers `config.scorers` selects among (tests, library users with scorers of their own); default the
   * registry's (score/registry.ts).
   */
  scorers?: readonly Scorer[];
  /** On resume: execution options to change (budget, limits, cache…); results-defining options stay stored. */
  overrides?: OperationalOverrides;
  /** Batch mode: injected Batch API clients (default: created from the config's provider specs). */
  batchClients?: { explainer?: BatchClient; simulator?: BatchClient; judge?: BatchClient };
}

/**
 * Consecutive failed features after which a run stops scheduling: with every feature failing (a wrong key, a
 * server that is down), going on would only record the same failure thousands of times.
 */
export const MAX_CONSECUTIVE_FAILURES = 10;

/** `run N failed: …`, naming the database file for SQLite errors (a full disk, a read-only file). */
function describeFatal(runId: number, error: unknown, db: ResultStore['db']): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const where = typeof code === 'string' && code.startsWith('SQLITE_') ? `database ${db.name}: ` : '';
  return `run ${runId} failed: ${where}${message}`;
}

/** A new run's row: what defines its results (config, code and prompt versions, models, source and its digest). */
function createRunRow(
  store: ResultStore,
  config: PipelineConfig,
  promptVersions: { explain: string; simulate: string },
  providers: RunProviders,
  sourceDigest: string,
): number {
  const { explainer, simulator } = providers;
  return store.createRun({
    name: runName(config),
    // The selected scorers and the judge are stored by name and spec, so a resume runs the same ones.
    config: { ...config, judge: config.judge ?? config.simulator },
    codeVersion,
    promptVersions,
    explainer: explainer.id,
    simulator: simulator.id,
    isBaseline: explainer.isBaseline || simulator.isBaseline,
    source: config.source,
    sourceDigest,
  });
}

/** Runs the explain → simulate → score pipeline and stores every result. */
export async function runPipeline(
  input: PipelineConfigInput | undefined,
  options: RunPipelineOptions,
): Promise<RunSummary> {
  const startedAt = performance.now();
  const given = options.store;
  const openStore = typeof given === 'function' ? given : () => given;
  // A resumed run's config is in the database; a new run opens it only once its input is validated.
  let store: ResultStore | undefined = options.resumeRunId !== undefined ? openStore() : undefined;
  const resolved = resolveRunConfig(store, options, input);
  const { resumed } = resolved;
  const selected = selectScorers(resolved.config, options.scorers ?? registeredScorers);
  const config: PipelineConfig = { ...resolved.config, scorers: selected.map((scorer) => scorer.name) };
  const needsJudge = selected.some((scorer) => scorer.needs.judge);
  // A second invocation of a run is refused before it does anything (the lease is released in `finally`).
  let lease: RunLease | undefined = resumed && store ? acquireRunLease(store.db, resumed.id, options.lease) : undefined;
  let hold: RunHold | undefined;
  try {
    const prices = loadPriceTable(config.prices);
    const explainTemplate = loadExplainTemplate(config.explainPrompt);
    const simulateTemplate = loadSimulateTemplate(config.simulatePrompt);

    // Validate all input before anything is written: a bad file fails the run before it starts (and, for a new
    // run, before the database file is created). The first pass keeps no record: the features stream in later.
    const settledBefore = resumed && store ? store.settledFeatureKeys(resumed.id) : new Set<string>();
    // A resumed run holds its lease from the start: the first pass (minutes at 10^6 features) renews it, or a second
    // invocation would find it stale after its time to live and take the run over.
    const heldFromStart = lease;
    const scan = await scanRunFeatures(
      config,
      resumed,
      settledBefore,
      heldFromStart ? () => heldFromStart.heartbeat() : undefined,
    );
    const { sourceDigest } = scan;
    // Every provider the run creates has its key and answers, before a run row exists (injected ones are the caller's).
    const created = [
      ...(options.explainer ? [] : [config.explainer]),
      ...(options.simulator ? [] : [config.simulator]),
      ...(needsJudge && !options.judge && !judgeIsSimulator(config) ? [config.judge!] : []),
    ];
    await preflightProviders(created, {
      ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
      timeoutMs: Math.min(config.requestTimeoutMs, 15_000),
    });

    store ??= openStore();
    const cache = config.cache ? createSqliteResponseCache(store.db) : undefined;
    const providers = buildProviders(
      config,
      {
        ...(options.explainer ? { explainer: options.explainer } : {}),
        ...(options.simulator ? { simulator: options.simulator } : {}),
        ...(options.judge ? { judge: options.judge } : {}),
      },
      cache,
    );
    const { explainer, simulator } = providers;
    // A judge no selected scorer asks for needs no batch client and no price.
    const usedProviders: RunProviders = needsJudge ? providers : { ...providers, judge: simulator };
    const batchClients = config.batch ? buildBatchClients(config, options.batchClients, usedProviders) : undefined;
    requireBudgetPrices(config, prices, usedProviders);
    // The tokenizer is loaded at the first count (over a second of CPU): a live run whose prompts all fit their bound
    // (simulate/plan-simulation-calls `boundCallCosts`, the usual case) never loads it. Batch mode always counts: it
    // loads it here, before the run exists, so that the load blocks no request, heartbeat or commit timer mid-run and a
    // broken tokenizer install fails the run before it starts.
    if (batchClients) await getEncoder();
    const countTokens = (text: string) => countTokensNow(text);

    const runId =
      resumed?.id ??
      createRunRow(
        store,
        config,
        { explain: explainTemplate.version, simulate: simulateTemplate.version },
        providers,
        sourceDigest,
      );
    const heldLease = (lease ??= acquireRunLease(store.db, runId, options.lease));
    store.setRunStatus(runId, 'running');
    const runStore = store;
    const runHold = (hold = holdRun(runStore, runId, heldLease, options.lease?.ttlMs));
    let saver: FeatureSaver | undefined;

    try {
      // The run's pending features, read from the source as workers free up (the settled keys were read under the lease).
      const todo = streamRunFeatures(config, sourceDigest, settledBefore);
      options.events?.onStart?.({
        runId,
        total: scan.total,
        alreadyDone: scan.alreadyDone,
        explainer,
        simulator,
        scorers: selected.map((scorer) => scorer.name),
        ...(needsJudge ? { judge: providers.judge } : {}),
      });

      saver = createFeatureSaver(runStore, runId, heldLease, options.events?.onFeatureDone);
      const { tally } = saver;
      let stoppedBy: RunSummary['stoppedBy'];
      // One transaction: a commit that fails (a full disk) then throws here; the INSERT … RETURNING inside, committed
      // on its own, failed silently and left a dangling SAE id (seen as "FOREIGN KEY constraint failed").
      runStore.db.transaction(() => recordRunSaes(runStore.db, scan.saeFeatures, knownSaeFolders(config.saes)))();
      const notes = new Set<string>();
      const note = (line: string) => void notes.add(line);
      const models: RunFeatureModels | undefined = selected.some((scorer) => scorer.needs.subjectModel)
        ? createFeatureModels({ subjectModels: config.subjectModels, saes: config.saes, note })
        : undefined;
      const context: FeatureContext = {
        config,
        explainer,
        simulator,
        explainTemplate,
        simulateTemplate,
        countTokens,
        scorers: selected,
        ...(needsJudge ? { judge: providers.judge } : {}),
        ...(models ? { models } : {}),
        note,
        costOf: (
          providerId: string,
          usage: { promptTokens: number; completionTokens: number },
          cached: boolean,
          batch: boolean,
        ) => prices.costOf(providerId, usage, cached, batch),
        ...(options.events?.onCall ? { onCall: options.events.onCall } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      };
      const stopReason = (): RunSummary['stoppedBy'] | undefined => {
        if (options.stopSignal?.aborted || options.signal?.aborted) return 'signal';
        // Between units of work: features in flight finish, no new one starts.
        if (config.maxCostUsd !== undefined && tally.spent.costUsd >= config.maxCostUsd) return 'budget';
        if (tally.consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) return 'failures';
        return undefined;
      };
      try {
        if (batchClients) {
          // Batch mode plans its phases over every pending feature: it loads them (not streamed).
          const pending: FeatureRecord[] = [];
          for await (const feature of todo) pending.push(feature);
          const outcome = await runBatchScheduler({
            runId,
            config,
            store: runStore,
            todo: pending,
            context,
            clients: batchClients,
            ...(cache ? { cache } : {}),
            prices,
            saver,
            ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.events?.onBatch ? { onBatch: options.events.onBatch } : {}),
          });
          stoppedBy = outcome.stoppedBy;
        } else {
          await runLiveScheduler({
            todo,
            concurrency: config.concurrency,
            context,
            saver,
            ...(options.signal ? { signal: options.signal } : {}),
            shouldStop: () => {
              const lost = runHold.leaseLost();
              if (lost) throw lost;
              const reason = stopReason();
              if (reason) stoppedBy ??= reason;
              return reason !== undefined;
            },
          });
        }
      } finally {
        models?.dispose();
      }
      saver.flush(); // the last features' commit
      return finishRun({
        store: runStore,
        runId,
        config,
        total: scan.total,
        tally,
        stoppedBy,
        notes,
        startedAt,
      });
    } catch (error) {
      // The features saved since the last commit were saved under the lease: committed if the database lets them be.
      if (error instanceof LeaseLostError) {
        saver?.close();
        throw error; // another process took the run over: it is that process's to mark; this one only stops
      }
      let message = describeFatal(runId, error, runStore.db);
      runHold.freeReserve(); // room to record the end on a full disk
      saver?.close();
      try {
        runStore.setRunStatus(runId, 'failed');
      } catch (markError) {
        message += `; marking it failed failed too (${(markError as Error).message}): resume it with \`autointerp run --resume ${runId}\``;
      }
      throw new RunFailedError(runId, message, { cause: error });
    } finally {
      saver?.close();
    }
  } finally {
    hold?.end();
    try {
      lease?.release();
    } catch {
      // a database that cannot be written (full disk): the lease goes stale and is taken over by the next resume
    }
  }
}
