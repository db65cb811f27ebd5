/**
 * @module pipeline/save-features — the saving step of a run, apart from the stages: each processed feature is
 * saved as one transaction (after renewing the lease), and what this invocation saved and spent is counted (the
 * run's stop rules read the counts).
 */
import type { ResultStore } from '../store/result-store.ts';
import type { RunLease } from '../store/run-lease.ts';
import type { ProcessedFeature } from './process-feature.ts';

/** What this invocation saved and what the run has spent (earlier invocations included). */
export interface RunTally {
  processedNow: number;
  consecutiveFailures: number;
  lastFailure: string | undefined;
  spent: { costUsd: number; unpricedCalls: number };
}

export interface FeatureSaver {
  readonly tally: RunTally;
  /** Saves one unit of work (one transaction) and counts it. */
  save(processed: ProcessedFeature): void;
  /** Counts the spend of a unit of work that is not saved (cut short by an abort: redone on resume). */
  countSpend(processed: ProcessedFeature): void;
}

export function createFeatureSaver(
  store: ResultStore,
  runId: number,
  lease: RunLease,
  onSaved?: (processed: ProcessedFeature) => void,
): FeatureSaver {
  const tally: RunTally = {
    processedNow: 0,
    consecutiveFailures: 0,
    lastFailure: undefined,
    spent: store.runSpending(runId),
  };
  const countSpend = (processed: ProcessedFeature) => {
    for (const call of processed.calls) {
      // A call that never got an answer (no key, refused, unreachable) was not billed: not an "unpriced call".
      if (call.costUsd === null) tally.spent.unpricedCalls += call.status === 'ok' ? 1 : 0;
      else tally.spent.costUsd += call.costUsd;
    }
  };
  // One transaction: the lease is still this invocation's (its heartbeat renewed), then the unit of work.
  const saveHeld = store.db.transaction((processed: ProcessedFeature) => {
    lease.heartbeat();
    store.saveFeatureResult(runId, processed.result, processed.calls);
  });
  return {
    tally,
    countSpend,
    save(processed) {
      countSpend(processed);
      saveHeld.immediate(processed);
      tally.processedNow += 1;
      if (processed.result.status === 'failed') {
        tally.consecutiveFailures += 1;
        tally.lastFailure = processed.result.reason;
      } else tally.consecutiveFailures = 0;
      onSaved?.(processed);
    },
  };
}
