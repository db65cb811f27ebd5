/**
 * The run lifecycle as a user sees it (exit codes, one-line errors, what is left in the database): a full disk, Ctrl+C
 * on an offline run, a run another process holds, a provider without its key, bad input, and the read-only commands
 * on a database that cannot be written or does not exist. Spawns the CLI where the process matters (signals, and the
 * full disk: its bug was the process's exit code); the other commands run in this process (test/helpers/run-cli.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statfsSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { cli as runCli } from '../helpers/run-cli.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-lifecycle-cli-'));
const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));

interface Child {
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr(): string;
  /** Resolves once the child has written `text` to stderr; rejects if it exits first. */
  printed(text: string): Promise<void>;
  signal(name: NodeJS.Signals): void;
}

function startCli(args: string[], env: Record<string, string | undefined> = {}): Child {
  const child = spawn(process.execPath, [join(root, 'bin/autointerp.js'), ...args], {
    cwd: directory,
    env: { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '', AUTOINTERP_DB: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!stderr.includes(text)) return;
        child.stderr.off('data', check);
        resolve();
      };
      child.stderr.on('data', check);
      check();
      void exited.then(({ code }) => reject(new Error(`exited (${code}) before printing "${text}": ${stderr}`)));
    });
  return { exited, stderr: () => stderr, printed, signal: (name) => child.kill(name) };
}

/** `autointerp <args>` in this process, in the test folder. */
const cli = (args: string[]) => runCli(args, { cwd: directory, env: { AUTOINTERP_DB: '' } });

function query(path: string, sql: string): unknown[] {
  const database = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return database.prepare(sql).all();
  } finally {
    database.close();
  }
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Mounts a tmpfs (root only); undefined, with the reason printed, where mounting is not permitted. */
function mountTmpfs(path: string, size: string): string | undefined {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'pipe' });
    return path;
  } catch (error) {
    console.warn(
      `skipped: cannot mount a tmpfs at ${path} (${(error as Error).message.split('\n')[0]}); these tests need root`,
    );
    return undefined;
  }
}

const unmount = (path: string | undefined) => path && execFileSync('umount', [path], { stdio: 'pipe' });

/**
 * Fills the file system holding `path` with that file until `headroomBytes` are left free (as statfs counts them), so
 * that the run started next fills the rest itself and nothing else writes beside it (a filler written once the run
 * has started could take the disk reserve the run frees to record its failure).
 */
function fillDiskLeaving(path: string, headroomBytes: number): void {
  const { bavail, bsize } = statfsSync(dirname(path));
  writeFileSync(path, Buffer.alloc(bavail * bsize - headroomBytes, 1));
  const left = statfsSync(dirname(path));
  expect(left.bavail * left.bsize).toBe(headroomBytes);
}

/**
 * What the run is left on its disk: room for its start (the database's schema in the WAL and its shared memory, about
 * 200 KiB, and the 64 KiB disk reserve) and a few features, so that it fills the disk a few features in. Measured on
 * a 512 KiB tmpfs: 160 KiB fails to open the database, 240-400 KiB fail a few features in as asked.
 */
const RUN_HEADROOM_BYTES = 320 * 1024;

/**
 * The scorers of the spawned demo runs: the baseline's own (no ablation, no intervention), so that the child loads no
 * subject model and no tfjs and runs no steered generation (over 10 s of CPU a run that these tests are not about): what
 * is left is synchronous baseline work, the case Ctrl+C once failed on.
 */
const offlineScorers = ['--scorers', 'correlation,detection,fuzzing'];

describe('a fatal error: one line, exit 2, the run marked failed', () => {
  let full: string | undefined;
  beforeAll(() => {
    full = mountTmpfs(join(directory, 'full'), '512k');
  });
  afterAll(() => unmount(full));

  it('the disk fills up during the run (a 512 KiB tmpfs, filled before the run to leave it 320 KiB)', async (context) => {
    if (!full) return context.skip('mount is not permitted here');
    const db = join(full, 'full.db');
    // The disk is filled before the run starts, leaving it room for its start and a few features: its writes fill the
    // rest, a few features in, and the reserve it frees then is its own to record the failure with.
    fillDiskLeaving(join(full, 'filler'), RUN_HEADROOM_BYTES);
    const child = startCli(['run', '--demo', ...offlineScorers, '--db', db, '--no-progress']);
    // Before the fix: exit 13 with no message, the run left "running".
    const result = await child.exited;
    expect(result.code, result.stderr).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe(`autointerp: error: run 1 failed: database ${db}: database or disk is full`);
    expect(lines).toHaveLength(2); // the start line and the error
    expect(query(db, 'SELECT status FROM runs')).toEqual([{ status: 'failed' }]);
    expect(query(db, 'SELECT COUNT(*) AS n FROM run_leases')).toEqual([{ n: 0 }]);
    expect(existsSync(`${db}-reserve`)).toBe(false);
  }, 600_000); // hang guards only (this file's tests): 80 s at load 12 on 2 cores
});

describe('Ctrl+C and the run lease', () => {
  it('Ctrl+C stops an offline run without ablation (the baseline is synchronous work): exit 130, run interrupted', async () => {
    const db = join(directory, 'interrupt.db');
    const child = startCli(['run', '--demo', ...offlineScorers, '--concurrency', '1', '--db', db, '--no-progress']);
    // Wait until the run has finished a feature (bounded: the whole demo run would end by itself).
    let finished = 0;
    for (let polls = 0; polls < 30_000 && finished === 0; polls++) {
      await sleep(20);
      try {
        finished = (query(db, 'SELECT COUNT(*) AS n FROM run_features') as { n: number }[])[0]!.n;
      } catch {
        // not created or not migrated yet
      }
    }
    expect(finished).toBeGreaterThan(0);
    child.signal('SIGINT');
    const result = await child.exited;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/stopping after the features in flight/);
    expect(result.stderr).toMatch(/run 1 interrupted: .* left to do/);
    expect(query(db, 'SELECT status FROM runs')).toEqual([{ status: 'interrupted' }]);
    expect((query(db, 'SELECT COUNT(*) AS n FROM run_features') as { n: number }[])[0]!.n).toBeLessThan(88);
    expect(query(db, 'SELECT COUNT(*) AS n FROM run_leases')).toEqual([{ n: 0 }]);
  }, 600_000);

  it('a second Ctrl+C while a request is in flight exits at once: 130, the run interrupted (not left running), its lease released', async () => {
    // Every model request hangs until the client goes away (no latency to race the signals): the run cannot end by
    // itself, so only the second Ctrl+C ends it, however loaded the machine is.
    let hung!: () => void;
    const requestInFlight = new Promise<void>((resolve) => (hung = resolve));
    const server = await startFakeLlmServer({ lexiconPath, faults: { mix: { hang: 1 }, onFault: () => hung() } });
    try {
      const db = join(directory, 'forced.db');
      const source = writeFeaturesJsonl(join(directory, 'forced.jsonl'), syntheticFeatures(6));
      const provider = 'openai-compatible:rule-based-v1';
      const child = startCli([
        'run',
        '--records',
        source,
        '--explainer',
        provider,
        '--simulator',
        provider,
        '--base-url',
        server.url,
        '--concurrency',
        '1',
        '--db',
        db,
        '--no-progress',
      ]);
      // The run row exists and is held once a model request reaches the server (the preflight is a GET, never hung).
      await Promise.race([
        requestInFlight,
        child.exited.then((r) => Promise.reject(new Error(`exited (${r.code}) before a request: ${r.stderr}`))),
      ]);
      expect(query(db, 'SELECT status FROM runs')).toEqual([{ status: 'running' }]);
      child.signal('SIGINT'); // the first: stop after the features in flight (whose request never ends)
      await child.printed('stopping after');
      child.signal('SIGINT');
      const result = await child.exited;
      expect(result.code).toBe(130);
      expect(result.stderr).toMatch(/forced exit; resume later/);
      expect(query(db, 'SELECT status FROM runs')).toEqual([{ status: 'interrupted' }]);
      expect(query(db, 'SELECT COUNT(*) AS n FROM run_leases')).toEqual([{ n: 0 }]);
    } finally {
      await server.close();
    }
  }, 600_000);

  it('a second `run --resume` of a run a live process holds is refused in one line, exit 2, nothing written', async () => {
    const db = join(directory, 'held.db');
    const source = writeFeaturesJsonl(join(directory, 'held.jsonl'), syntheticFeatures(3));
    const store = new ResultStore(openDatabase(db));
    const controller = new AbortController();
    await runPipeline(
      { source, concurrency: 1 },
      { store, stopSignal: controller.signal, events: { onFeatureDone: () => controller.abort() } },
    );
    // Another live process of this host holds the run (as a `run` in another terminal would): a sleeping child, not
    // this test process (whose in-process `cli` below would otherwise be refused by its own pid).
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 1e6)'], { stdio: 'ignore' });
    try {
      store.db
        .prepare(
          `INSERT INTO run_leases (run_id, holder, host, pid, acquired_at, heartbeat_at) VALUES (1, 'x', ?, ?, ?, ?)`,
        )
        .run(hostname(), holder.pid, Date.now(), Date.now());
      store.db.close();
      const before = query(db, 'SELECT * FROM run_features');
      const result = await cli(['run', '--resume', '1', '--db', db, '--no-progress']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        new RegExp(
          `^autointerp: run 1 is being run by process ${holder.pid} on .* \\(last heartbeat \\d+ s ago\\); wait for it to end or stop it`,
        ),
      );
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(query(db, 'SELECT * FROM run_features')).toEqual(before);
    } finally {
      holder.kill();
    }
  });
});

describe('checked before the run starts: no run row, no database file', () => {
  it('a provider without its API key: one line, exit 2', async () => {
    const db = join(directory, 'nokey.db');
    const result = await cli(['run', '--demo', '--explainer', 'anthropic:claude-x', '--db', db, '--no-progress']);
    expect(result).toMatchObject({
      code: 2,
      stderr: 'autointerp: anthropic:claude-x: no API key: set ANTHROPIC_API_KEY in the environment\n',
    });
    expect(existsSync(db)).toBe(false);
  });
});

describe('read-only commands', () => {
  let readOnly: string | undefined;
  let db = '';
  beforeAll(async () => {
    readOnly = mountTmpfs(join(directory, 'read-only'), '8m');
    if (!readOnly) return;
    db = join(readOnly, 'results.db');
    const source = writeFeaturesJsonl(join(directory, 'four.jsonl'), syntheticFeatures(4));
    const store = new ResultStore(openDatabase(db));
    await runPipeline({ source, name: 'a' }, { store });
    await runPipeline({ source, name: 'b' }, { store });
    store.db.close(); // a clean close: no -wal or -shm file beside it
    execFileSync('mount', ['-o', 'remount,ro', readOnly], { stdio: 'pipe' });
  });
  afterAll(() => unmount(readOnly));

  it('leaderboard, report, export and compare read a database on a read-only file system', async (context) => {
    if (!readOnly) return context.skip('mount is not permitted here');
    const [board, report, exported, compared] = await Promise.all([
      cli(['leaderboard', '--db', db, '--json']),
      cli(['report', '--db', db, '--out', join(directory, 'report.html')]),
      cli(['export', '--db', db, '--run', '1']),
      cli(['compare', '1', '2', '--db', db]),
    ]);
    for (const result of [board, report, exported, compared]) expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(board.stdout)).toMatchObject({ run: { id: 2 } });
    expect(existsSync(join(directory, 'report.html'))).toBe(true);
    expect(exported.stdout.trim().split('\n')).toHaveLength(5);
    expect(compared.stdout).toMatch(/paired features/);
    // A command that writes says which file it cannot write, in one line.
    const tagged = await cli(['tag', '1', 'nightly', '--db', db]);
    expect(tagged.code).toBe(2);
    expect(tagged.stderr).toMatch(new RegExp(`^autointerp: cannot open database ${db} for writing: .*\n$`));
  }, 600_000);

  it('a database that does not exist: one line naming it, exit 2, no file created', async () => {
    const missing = join(directory, 'missing.db');
    const results = await Promise.all([
      cli(['leaderboard', '--db', missing]),
      cli(['export', '--db', missing]),
      cli(['compare', '1', '2', '--db', missing]),
    ]);
    for (const result of results)
      expect(result).toMatchObject({ code: 2, stderr: `autointerp: no database at ${missing}\n` });
    expect(existsSync(missing)).toBe(false);
  });
});
