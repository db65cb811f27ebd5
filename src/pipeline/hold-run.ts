/**
 * @module pipeline/hold-run — what a started run holds while it works: its lease, renewed by a heartbeat (a lease
 * another process took over is noted, and the run stops at the next feature), a disk reserve (room to record the
 * end on a full disk), and an exit hook that commits the features saved since the last commit and marks the run
 * interrupted when the process is forced out (second Ctrl+C) without unwinding.
 */
import { reserveDiskSpace, type DiskReserve } from '../store/disk-reserve.ts';
import type { ResultStore } from '../store/result-store.ts';
import { DEFAULT_LEASE_TTL_MS, LeaseLostError, type RunLease } from '../store/run-lease.ts';

export interface RunHold {
  /** Frees the disk reserve (before writing the end of a run on a full disk); safe to call twice. */
  freeReserve(): void;
  /** The takeover a heartbeat met, if any: the run must stop. */
  leaseLost(): LeaseLostError | undefined;
  /** Stops the heartbeat, frees the reserve and removes the exit hook (the lease itself is the caller's). */
  end(): void;
}

/** Starts holding `runId` (its status already `running`) with `lease`; heartbeats every quarter of the lease's TTL. */
export function holdRun(store: ResultStore, runId: number, lease: RunLease, ttlMs = DEFAULT_LEASE_TTL_MS): RunHold {
  const reserve: DiskReserve = reserveDiskSpace(store.db.name);
  // A forced exit (second Ctrl+C) ends the process without unwinding: the run is then interrupted, not running.
  const markInterruptedOnExit = () => {
    try {
      if (!store.db.open) return;
      // The features saved since the last commit (pipeline/commit-group.ts) are whole: each save is synchronous.
      if (store.db.inTransaction) store.db.exec('COMMIT');
      if (store.getRun(runId)?.status === 'running') store.setRunStatus(runId, 'interrupted');
      lease.release();
      reserve.free();
    } catch {
      // exiting anyway; a stale lease is taken over by the next resume
    }
  };
  process.once('exit', markInterruptedOnExit);
  let lost: LeaseLostError | undefined;
  const heartbeatTimer = setInterval(
    () => {
      try {
        lease.heartbeat();
      } catch (error) {
        if (error instanceof LeaseLostError) lost ??= error; // else: a busy or full database; the next save says so
      }
    },
    Math.max(1000, ttlMs / 4),
  );
  heartbeatTimer.unref();
  return {
    freeReserve: () => reserve.free(),
    leaseLost: () => lost,
    end() {
      clearInterval(heartbeatTimer);
      reserve.free();
      process.off('exit', markInterruptedOnExit);
    },
  };
}
