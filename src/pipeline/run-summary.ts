/**
 * @module pipeline/run-summary — how a run invocation ended: the run's final status from its stored progress (written
 * back to the run row), and the summary the CLI prints.
 */
import { type SelectionSummary, selectionSummary } from '../store/candidate-queries.ts';
import type { ResultStore } from '../store/result-store.ts';
import type { PipelineConfig } from './config.ts';
import type { RunTally } from './save-features.ts';

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
  /** Why some features got no rows of a scorer (no subject model, no token ids, …), one line per cause. */
  notes?: string[];
  /** The reason of the last failed feature, when any failed. */
  lastFailure?: string;
  /**
   * Best-of-n runs: the winners' mean calibration score (what they were chosen on) and held-out score, and the gap
   * between them (the selection bias: how much a score read on the choosing records would flatter the winners).
   */
  selection?: SelectionSummary;
}

export interface FinishRunInput {
  store: ResultStore;
  runId: number;
  config: PipelineConfig;
  /** Features in the run (all invocations). */
  total: number;
  tally: RunTally;
  stoppedBy: RunSummary['stoppedBy'];
  /** The scorers' notes (why some features got no rows of a scorer). */
  notes: ReadonlySet<string>;
  /** `performance.now()` when the invocation started. */
  startedAt: number;
}

/** Marks the run finished (every feature done, nothing stopped it) or interrupted, and summarizes it. */
export function finishRun(input: FinishRunInput): RunSummary {
  const { store, runId, config, total, tally, stoppedBy, notes } = input;
  const progress = store.runProgress(runId);
  const doneCount = progress.scored + progress.skipped + progress.failed;
  const complete = doneCount === total;
  const status = complete && stoppedBy === undefined ? 'finished' : 'interrupted';
  store.setRunStatus(runId, status);
  return {
    runId,
    status,
    total,
    ...progress,
    processedNow: tally.processedNow,
    remaining: total - doneCount,
    durationMs: performance.now() - input.startedAt,
    costUsd: tally.spent.costUsd,
    unpricedCalls: tally.spent.unpricedCalls,
    ...(config.maxCostUsd !== undefined ? { maxCostUsd: config.maxCostUsd } : {}),
    ...(status === 'interrupted' && stoppedBy ? { stoppedBy } : {}),
    ...(tally.lastFailure !== undefined ? { lastFailure: tally.lastFailure } : {}),
    ...(notes.size > 0 ? { notes: [...notes] } : {}),
    ...withSelection(config, store, runId),
  };
}

/** The selection summary of a best-of-n run (empty for one-shot runs). */
function withSelection(config: PipelineConfig, store: ResultStore, runId: number): { selection?: SelectionSummary } {
  if (config.explanations <= 1 && config.revise === 0) return {};
  const selection = selectionSummary(store.db, runId);
  return selection ? { selection } : {};
}
