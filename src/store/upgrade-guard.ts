/**
 * @module store/upgrade-guard — an older autointerp still running a run on a file must not have that file upgraded
 * under it (a migration may drop columns its statements name, e.g. migration 12's `records.tokens`): before
 * migrating, a live lease of another process (store/run-lease decides liveness) refuses the upgrade.
 */
import { hostname } from 'node:os';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { DEFAULT_LEASE_TTL_MS, type LeaseRow, processAlive, type RunLeaseOptions, staleReason } from './run-lease.ts';
import { InputError } from '../common/errors.ts';

/** How the guard tells a live lease (tests inject a clock and the process identity). */
export type UpgradeGuardOptions = Pick<RunLeaseOptions, 'clock' | 'ttlMs' | 'host' | 'pid' | 'isProcessAlive'>;

/** An upgrade refused because another process is running a run on the file with the older code. */
export class UpgradeBlockedError extends InputError {
  override readonly name = 'UpgradeBlockedError';
  constructor(
    message: string,
    readonly holder: LeaseRow,
  ) {
    super(message);
  }
}

/**
 * Throws UpgradeBlockedError when a process other than this one holds a live lease on a run of `db` (which is at
 * schema `fromVersion`, about to be migrated to `toVersion`). Call it with the write lock held, so no run starts
 * between the check and the migration.
 */
export function refuseUpgradeUnderLiveRun(
  db: SqliteDatabase,
  fromVersion: number,
  toVersion: number,
  options: UpgradeGuardOptions = {},
): void {
  const hasLeases = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_leases'").get();
  if (!hasLeases) return;
  const identity = {
    host: options.host ?? hostname(),
    ttlMs: options.ttlMs ?? DEFAULT_LEASE_TTL_MS,
    isProcessAlive: options.isProcessAlive ?? processAlive,
  };
  const pid = options.pid ?? process.pid;
  const now = (options.clock ?? Date.now)();
  const leases = db.prepare('SELECT * FROM run_leases ORDER BY run_id').all() as LeaseRow[];
  const live = leases.find(
    (lease) => !(lease.host === identity.host && lease.pid === pid) && staleReason(lease, now, identity) === undefined,
  );
  if (!live) return;
  const run = db.prepare('SELECT name FROM runs WHERE id = ?').get(live.run_id) as { name: string } | undefined;
  const ago = Math.max(0, Math.round((now - live.heartbeat_at) / 1000));
  throw new UpgradeBlockedError(
    `database ${db.name} has schema version ${fromVersion}, older than this autointerp (${toVersion}), and run ${live.run_id}${run ? ` (${JSON.stringify(run.name)})` : ''} is being run on it by process ${live.pid} on ${live.host} (last heartbeat ${ago} s ago); upgrading the file now would stop that run: wait for it to end or stop it, then retry`,
    live,
  );
}
