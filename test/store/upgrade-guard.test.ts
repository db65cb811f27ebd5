import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/common/errors.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrations } from '../../src/store/migrations.ts';
import { UpgradeBlockedError, type UpgradeGuardOptions } from '../../src/store/upgrade-guard.ts';

const olderVersion = migrations.length - 1;
const NOW = 1_800_000_000_000;

/** A database one schema version older than this code, with run 1 ("live") leased by `holder` (or by nobody). */
function olderDatabaseWithLease(holder?: { host: string; pid: number; heartbeatAt: number }): string {
  const path = join(mkdtempSync(join(tmpdir(), 'upgrade-guard-')), 'older.db');
  const db = new Database(path);
  for (const migration of migrations.slice(0, olderVersion)) {
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
  }
  db.pragma(`user_version = ${olderVersion}`);
  db.prepare(
    "INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status) VALUES (1, 'live', '{}', 'old', '{}', 'baseline', 'baseline', 1, 'f.jsonl', '2026-01-01', 'running')",
  ).run();
  if (holder)
    db.prepare(
      "INSERT INTO run_leases (run_id, holder, host, pid, acquired_at, heartbeat_at) VALUES (1, 'token', ?, ?, ?, ?)",
    ).run(holder.host, holder.pid, holder.heartbeatAt - 5_000, holder.heartbeatAt);
  db.close();
  return path;
}

function versionOf(path: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** This process as host-a pid 1; every other process of host-a alive; the clock at NOW. */
const guard: UpgradeGuardOptions = { clock: () => NOW, host: 'host-a', pid: 1, isProcessAlive: () => true };

describe('opening an older database while another process runs a run on it', () => {
  for (const readonly of [true, false]) {
    it(`refuses to upgrade it (${readonly ? 'read-only' : 'read-write'} open), naming file, run, holder and versions`, () => {
      const path = olderDatabaseWithLease({ host: 'host-b', pid: 4242, heartbeatAt: NOW - 2_000 });
      const open = () => openDatabase(path, { readonly, upgradeGuard: guard });
      expect(open).toThrow(UpgradeBlockedError);
      expect(open).toThrow(InputError); // exit 2
      expect(open).toThrow(
        new RegExp(
          `older\\.db has schema version ${olderVersion}, older than this autointerp \\(${migrations.length}\\), and run 1 \\("live"\\) is being run on it by process 4242 on host-b \\(last heartbeat 2 s ago\\).*wait for it to end or stop it, then retry`,
        ),
      );
      expect(versionOf(path)).toBe(olderVersion);
    });
  }

  it('refuses for a live process of this host too, but not for this process itself', () => {
    const other = olderDatabaseWithLease({ host: 'host-a', pid: 2, heartbeatAt: NOW });
    expect(() => openDatabase(other, { upgradeGuard: guard })).toThrow(/by process 2 on host-a/);
    const own = olderDatabaseWithLease({ host: 'host-a', pid: 1, heartbeatAt: NOW });
    openDatabase(own, { upgradeGuard: guard }).close();
    expect(versionOf(own)).toBe(migrations.length);
  });

  const stale: [string, { host: string; pid: number; heartbeatAt: number } | undefined, UpgradeGuardOptions][] = [
    ['no lease', undefined, guard],
    [
      'a lease with no heartbeat for longer than the time to live',
      { host: 'host-b', pid: 7, heartbeatAt: NOW - 61_000 },
      guard,
    ],
    [
      'a lease whose process is gone from this host',
      { host: 'host-a', pid: 9, heartbeatAt: NOW },
      { ...guard, isProcessAlive: () => false },
    ],
  ];
  for (const [what, holder, options] of stale) {
    for (const readonly of [true, false]) {
      it(`migrates as before with ${what} (${readonly ? 'read-only' : 'read-write'} open)`, () => {
        const path = olderDatabaseWithLease(holder);
        openDatabase(path, { readonly, upgradeGuard: options }).close();
        expect(versionOf(path)).toBe(migrations.length);
      });
    }
  }
});
