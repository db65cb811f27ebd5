import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { acquireRunLease, LeaseLostError, RunLeasedError, type RunLeaseOptions } from '../../src/store/run-lease.ts';

function storeWithRun() {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = store.createRun({
    name: 'r',
    config: {},
    codeVersion: 'test',
    promptVersions: { explain: 'e', simulate: 's' },
    explainer: 'mock:e',
    simulator: 'mock:s',
    isBaseline: false,
    source: 'test',
  });
  return { store, runId };
}

/** Two invocations of one run: an injected clock, hosts, pids and which pids live. */
function world() {
  let now = 1_000_000;
  const alive = new Set<number>([101, 202]);
  const on = (host: string, pid: number): RunLeaseOptions => ({
    clock: () => now,
    ttlMs: 60_000,
    host,
    pid,
    isProcessAlive: (p) => alive.has(p),
  });
  return { on, alive, advance: (ms: number) => (now += ms) };
}

describe('run lease: one process at a time runs a run', () => {
  it('refuses a second holder while the first lives and beats, naming pid and host', () => {
    const { store, runId } = storeWithRun();
    const { on, advance } = world();
    const first = acquireRunLease(store.db, runId, on('host-a', 101));
    advance(59_000);
    expect(() => acquireRunLease(store.db, runId, on('host-a', 202))).toThrow(RunLeasedError);
    expect(() => acquireRunLease(store.db, runId, on('host-b', 7))).toThrow(
      /run 1 is being run by process 101 on host-a \(last heartbeat 59 s ago\)/,
    );
    first.heartbeat();
    advance(59_000);
    expect(() => acquireRunLease(store.db, runId, on('host-b', 7))).toThrow(RunLeasedError); // renewed 59 s ago
  });

  it('a lease whose process is gone from this host is taken over at once', () => {
    const { store, runId } = storeWithRun();
    const { on, alive } = world();
    acquireRunLease(store.db, runId, on('host-a', 101)); // never released: killed
    alive.delete(101);
    const second = acquireRunLease(store.db, runId, on('host-a', 202));
    expect(store.db.prepare('SELECT host, pid FROM run_leases').all()).toEqual([{ host: 'host-a', pid: 202 }]);
    second.release();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM run_leases').get()).toEqual({ n: 0 });
  });

  it('another host takes a lease over once its heartbeat is older than the time to live; the old holder then stops', () => {
    const { store, runId } = storeWithRun();
    const { on, advance } = world();
    const first = acquireRunLease(store.db, runId, on('host-a', 101));
    advance(60_001);
    const second = acquireRunLease(store.db, runId, on('host-b', 7));
    expect(() => first.heartbeat()).toThrow(LeaseLostError);
    expect(() => first.heartbeat()).toThrow(/taken over by process 7 on host-b/);
    first.release(); // not its lease any more: the new holder keeps it
    expect(store.db.prepare('SELECT host, pid FROM run_leases').all()).toEqual([{ host: 'host-b', pid: 7 }]);
    second.heartbeat();
  });

  it('a released run can be taken by the next invocation', () => {
    const { store, runId } = storeWithRun();
    const { on } = world();
    acquireRunLease(store.db, runId, on('host-a', 101)).release();
    expect(() => acquireRunLease(store.db, runId, on('host-a', 202)).release()).not.toThrow();
  });
});
