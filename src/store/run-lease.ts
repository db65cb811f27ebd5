/**
 * @module store/run-lease — one process at a time runs a run: a `run_leases` row names the holder (host, pid, a
 * random token) and its heartbeat. A second invocation is refused while the holder is alive; a stale lease (its
 * process gone from this host, or no heartbeat for `ttlMs`) is taken over. Writes of the run check the token, so a
 * holder whose lease was taken over stops instead of writing beside the new holder.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { AutointerpError, InputError } from '../common/errors.ts';

/** Heartbeats older than this make a lease stale (another host cannot see whether the holder's process lives). */
export const DEFAULT_LEASE_TTL_MS = 60_000;

export interface RunLeaseOptions {
  /** Unix time in milliseconds (tests inject a clock). Default `Date.now`. */
  clock?: () => number;
  /** Time to live of a heartbeat. Default DEFAULT_LEASE_TTL_MS. */
  ttlMs?: number;
  /** This process's identity. Defaults: `os.hostname()` and `process.pid`. */
  host?: string;
  pid?: number;
  /** Whether a process of this host lives. Default: `process.kill(pid, 0)` succeeds (or fails with EPERM). */
  isProcessAlive?: (pid: number) => boolean;
}

/** The holder as stored in `run_leases`. */
export interface LeaseRow {
  run_id: number;
  holder: string;
  host: string;
  pid: number;
  acquired_at: number;
  heartbeat_at: number;
}

/** A second invocation of a run that another live process holds. */
export class RunLeasedError extends InputError {
  override readonly name = 'RunLeasedError';
  constructor(
    message: string,
    readonly holder: LeaseRow,
  ) {
    super(message);
  }
}

/** The lease was taken over by another process (this one looked stale): this one must stop writing. */
export class LeaseLostError extends AutointerpError {
  override readonly name = 'LeaseLostError';
}

export interface RunLease {
  readonly runId: number;
  readonly holder: string;
  /** Renews the heartbeat; throws LeaseLostError when another process holds the run now. */
  heartbeat(): void;
  /** Gives the run up (only while this invocation holds it); safe to call twice. */
  release(): void;
}

/** Whether process `pid` of this host lives (`process.kill(pid, 0)` succeeds, or fails with EPERM). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/** Why a lease is stale, or undefined while its holder is to be presumed alive. */
export function staleReason(
  row: LeaseRow,
  now: number,
  identity: { host: string; ttlMs: number; isProcessAlive: (pid: number) => boolean },
): string | undefined {
  if (row.host === identity.host && !identity.isProcessAlive(row.pid)) return `process ${row.pid} is gone`;
  if (now - row.heartbeat_at > identity.ttlMs)
    return `no heartbeat for ${Math.round((now - row.heartbeat_at) / 1000)} s`;
  return undefined;
}

/**
 * Takes the run for this process, in one `BEGIN IMMEDIATE` transaction (two invocations racing: one wins). Throws
 * RunLeasedError naming the holder when a live process holds it.
 */
export function acquireRunLease(db: SqliteDatabase, runId: number, options: RunLeaseOptions = {}): RunLease {
  const clock = options.clock ?? Date.now;
  const identity = {
    host: options.host ?? hostname(),
    ttlMs: options.ttlMs ?? DEFAULT_LEASE_TTL_MS,
    isProcessAlive: options.isProcessAlive ?? processAlive,
  };
  const pid = options.pid ?? process.pid;
  const holder = randomUUID();
  db.transaction(() => {
    const now = clock();
    const current = db.prepare('SELECT * FROM run_leases WHERE run_id = ?').get(runId) as LeaseRow | undefined;
    if (current && staleReason(current, now, identity) === undefined) {
      const ago = Math.max(0, Math.round((now - current.heartbeat_at) / 1000));
      throw new RunLeasedError(
        `run ${runId} is being run by process ${current.pid} on ${current.host} (last heartbeat ${ago} s ago); wait for it to end or stop it — a lease with no heartbeat for ${Math.round(identity.ttlMs / 1000)} s is taken over`,
        current,
      );
    }
    db.prepare(
      `INSERT INTO run_leases (run_id, holder, host, pid, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid,
         acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at`,
    ).run(runId, holder, identity.host, pid, now, now);
  }).immediate();

  const renew = db.prepare('UPDATE run_leases SET heartbeat_at = ? WHERE run_id = ? AND holder = ?');
  const remove = db.prepare('DELETE FROM run_leases WHERE run_id = ? AND holder = ?');
  let released = false;
  return {
    runId,
    holder,
    heartbeat() {
      if (released) throw new LeaseLostError(`run ${runId}: the lease was released`);
      if (renew.run(clock(), runId, holder).changes === 0) {
        const now = db.prepare('SELECT host, pid FROM run_leases WHERE run_id = ?').get(runId) as
          | { host: string; pid: number }
          | undefined;
        throw new LeaseLostError(
          `run ${runId} was taken over by ${now ? `process ${now.pid} on ${now.host}` : 'another process'} (this process looked stale); stopping without writing more`,
        );
      }
    },
    release() {
      if (released) return;
      released = true;
      if (db.open) remove.run(runId, holder);
    },
  };
}
