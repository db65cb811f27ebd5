/**
 * @module pipeline/batch-scheduler — the batch way to run the units of work: the run's config turned into the
 * options of `runBatchMode` (batch-mode.ts), which sends the requests through the providers' Batch APIs in phases
 * and saves each feature through the same saving step as the live scheduler.
 */
import type { PriceTable } from '../llm/price-table.ts';
import type { ResponseCache } from '../llm/response-cache.ts';
import { mulberry32 } from '../common/random.ts';
import type { FeatureRecord } from '../records/types.ts';
import { BatchStore } from '../store/batch-store.ts';
import type { ResultStore } from '../store/result-store.ts';
import { runBatchMode, type BatchEvent, type BatchModeOutcome } from './batch-mode.ts';
import type { RunBatchClients } from './build-providers.ts';
import type { PipelineConfig } from './config.ts';
import type { FeatureContext } from './process-feature.ts';
import type { FeatureSaver } from './save-features.ts';

export interface BatchSchedulerOptions {
  runId: number;
  config: PipelineConfig;
  store: ResultStore;
  todo: readonly FeatureRecord[];
  context: FeatureContext;
  clients: RunBatchClients;
  cache?: ResponseCache;
  prices: PriceTable;
  saver: FeatureSaver;
  stopSignal?: AbortSignal;
  signal?: AbortSignal;
  onBatch?(event: BatchEvent): void;
}

/** Runs the features through batches; a batch API call that kept failing, or a storage error, throws (the batches recorded so far stay). */
export function runBatchScheduler(options: BatchSchedulerOptions): Promise<BatchModeOutcome> {
  const { config, saver } = options;
  return runBatchMode({
    runId: options.runId,
    todo: options.todo,
    batchStore: new BatchStore(options.store.db),
    context: options.context,
    clients: options.clients,
    ...(options.cache ? { cache: options.cache } : {}),
    pollMs: config.batchPollMs,
    ...(config.batchMaxWaitMs !== undefined ? { maxWaitMs: config.batchMaxWaitMs } : {}),
    retry: { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseDelayMs, random: mulberry32(config.seed) },
    ...(config.maxCostUsd !== undefined
      ? { budget: { spentUsd: saver.tally.spent.costUsd, maxCostUsd: config.maxCostUsd, prices: options.prices } }
      : {}),
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    save: saver.save,
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
  });
}
