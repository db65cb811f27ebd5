/**
 * @module pipeline/save-features — the saving step of a run, apart from the stages: each processed feature is
 * saved as one savepoint (after renewing the lease) the moment it is done, features done close together share a
 * commit (pipeline/commit-group.ts: at most 100 features or 100 ms), and what this invocation saved and spent is
 * counted (the run's stop rules read the counts). The run commits the last group (`flush`) before it ends.
 */
import type { ResultStore } from '../store/result-store.ts';
import type { RunLease } from '../store/run-lease.ts';
import { createCommitGroup, DEFAULT_COMMIT_GROUP, type CommitGroupOptions } from './commit-group.ts';
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
  /** Saves one unit of work (one savepoint, in a commit it may share with the units done close to it) and counts it. */
  save(processed: ProcessedFeature): void;
  /** Counts the spend of a unit of work that is not saved (cut short by an abort: redone on resume). */
  countSpend(processed: ProcessedFeature): void;
  /** Commits the features saved since the last commit (throws the commit's error: a full disk). */
  flush(): void;
  /**
   * Commits what it can of them and never throws (a run that is failing or was taken over), and gives the connection
   * back its own temp_store; the last call on a saver.
   */
  close(): void;
}

export function createFeatureSaver(
  store: ResultStore,
  runId: number,
  lease: RunLease,
  onSaved?: (processed: ProcessedFeature) => void,
  commits: CommitGroupOptions = DEFAULT_COMMIT_GROUP,
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
  // Inside the group's write transaction: the lease is still this invocation's (its heartbeat renewed; a takeover
  // throws LeaseLostError before anything of the feature is written), then the feature (the store's one savepoint a
  // feature). The transaction holds the database's write lock until its commit, so no other process takes the lease
  // between. The saver renews the lease itself: a store that overrides `saveFeatureResult` cannot drop the renewal.
  const saveHeld = (processed: ProcessedFeature) => {
    lease.heartbeat();
    store.saveFeatureResult(runId, processed.result, processed.calls);
  };
  const group = createCommitGroup(store.db, commits);
  // A feature's savepoints journal every page they change, in a temporary file by default: measured over 3,000
  // features, a commit each wrote 325 kB a feature, 201 kB with these journals in memory (freed at each RELEASE), and
  // 58–85 kB with shared commits as well. Given back by `close` (it cannot change inside a transaction).
  const tempStoreBefore = store.db.pragma('temp_store', { simple: true }) as number;
  if (!store.db.inTransaction) store.db.pragma('temp_store = MEMORY');
  return {
    tally,
    countSpend,
    flush: group.flush,
    close() {
      group.close();
      try {
        if (store.db.open && !store.db.inTransaction) store.db.pragma(`temp_store = ${tempStoreBefore}`);
      } catch {
        // a connection that cannot take the setting back keeps journals in memory: harmless
      }
    },
    save(processed) {
      countSpend(processed);
      group.write(() => saveHeld(processed));
      tally.processedNow += 1;
      if (processed.result.status === 'failed') {
        tally.consecutiveFailures += 1;
        tally.lastFailure = processed.result.reason;
      } else tally.consecutiveFailures = 0;
      onSaved?.(processed);
    },
  };
}
