/**
 * @module bench/store-write — the cost of a feature's records in SQLite, and the database's size, for two runs over
 * the same features (a prompt change, a regress candidate, a best-of-n variant): per feature one transaction with its
 * explanation, 24 records of 64-token windows and 14 simulations, written by each storage layout the schema has had:
 *   - schema 5: each record holds its window, activations and expected values as JSON text;
 *   - schema 11: each record holds its window, float32 BLOBs (store/float32-column);
 *   - schema 12: a window is stored once per feature (store/record-windows: `record_windows`, found by a sha256
 *     digest of its content), a record holds its run's split, source and position and the window's id.
 * Layouts are interleaved in one process, each into a fresh database; prints the median time per feature of the
 * first and the second run, the database bytes after each run, and the digest's share of the time.
 * Run: `npx tsx bench/store-write.ts [features]`. Prints numbers only.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/common/random.ts';
import { openDatabase, type SqliteDatabase } from '../src/store/database.ts';
import { encodeFloat32Column } from '../src/store/float32-column.ts';
import { migrations } from '../src/store/migrations.ts';
import { RecordWindowWriter, windowDigest } from '../src/store/record-windows.ts';

const featureCount = Number(process.argv[2] ?? 1000);
const WINDOWS = 24;
const SIMULATED_FROM = 10; // windows 10..23 are simulated (14 a feature)
const random = mulberry32(3);
const vocabulary = Array.from({ length: 500 }, (_, i) => ` w${i}`);
interface Window {
  tokens: string[];
  activations: number[];
  expected: number[] | null;
}
const features: Window[][] = Array.from({ length: featureCount }, () =>
  Array.from({ length: WINDOWS }, (_, i) => {
    const tokens = Array.from({ length: 64 }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
    return {
      tokens,
      activations: tokens.map(() => (random() < 0.1 ? random() * 5 : 0)),
      expected: i >= SIMULATED_FROM ? tokens.map(() => random() * 10) : null,
    };
  }),
);

const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-store-'));

/** A new database at schema `version`, configured as store/database configures one. */
function openAtSchema(path: string, version: number): SqliteDatabase {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  db.transaction(() => {
    for (const migration of migrations.slice(0, version)) {
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
    }
    db.pragma(`user_version = ${version}`);
  })();
  return db;
}

/** Writes a feature's windows as records of a run; returns the records' ids. */
type RecordWriter = (runId: number, featureId: number, windows: readonly Window[]) => (number | bigint)[];

interface Layout {
  open: (path: string) => SqliteDatabase;
  records: (db: SqliteDatabase) => RecordWriter;
  /** How expected values are stored. */
  encode: (values: readonly number[]) => string | Buffer;
}

const windowInRecord =
  (encode: (values: readonly number[]) => string | Buffer) =>
  (db: SqliteDatabase): RecordWriter => {
    const insert = db.prepare(
      `INSERT INTO records (run_id, feature_id, split, source, position, tokens, activations) VALUES (?, ?, 'score', 'top', ?, ?, ?)`,
    );
    return (runId, featureId, windows) =>
      windows.map(
        (window, position) =>
          insert.run(runId, featureId, position, JSON.stringify(window.tokens), encode(window.activations))
            .lastInsertRowid,
      );
  };

const layouts = {
  'schema 5, JSON text in each record': {
    open: (path) => openAtSchema(path, 5),
    records: windowInRecord((values) => JSON.stringify(values)),
    encode: (values) => JSON.stringify(values),
  },
  'schema 11, float32 in each record': {
    open: (path) => openAtSchema(path, 11),
    records: windowInRecord(encodeFloat32Column),
    encode: encodeFloat32Column,
  },
  'schema 12, a window once a feature': {
    open: (path) => openDatabase(path),
    records: (db) => {
      const windows = new RecordWindowWriter(db);
      const insert = db.prepare(
        `INSERT INTO records (run_id, feature_id, split, source, position, window_id) VALUES (?, ?, 'score', 'top', ?, ?)`,
      );
      return (runId, featureId, featureWindows) => {
        const windowIds = windows.idsOf(featureId, featureWindows); // as store/result-store writes them
        return featureWindows.map(
          (_, position) => insert.run(runId, featureId, position, windowIds[position]).lastInsertRowid,
        );
      };
    },
    encode: encodeFloat32Column,
  },
} satisfies Record<string, Layout>;
type LayoutName = keyof typeof layouts;

interface Measured {
  /** ms per feature of the first and the second run. */
  msPerFeature: [number, number];
  /** Database bytes after the first and the second run. */
  bytes: [number, number];
}

function measure(name: LayoutName, round: number): Measured {
  const layout: Layout = layouts[name];
  const path = join(directory, `${round}-${name.replace(/\W+/g, '-')}.db`);
  const db = layout.open(path);
  const writeRecord = layout.records(db);
  const insertRun = db.prepare(
    `INSERT INTO runs (name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
     VALUES ('bench', '{}', 'bench', '{}', 'mock', 'mock', 0, 'bench', 'now', 'running')`,
  );
  const insertFeature = db.prepare(`INSERT INTO features (model, layer, kind, idx) VALUES ('bench', '0', 'neuron', ?)`);
  const featureIds = db.transaction(() =>
    features.map((_, index) => Number(insertFeature.run(index).lastInsertRowid)),
  )();
  const insertExplanation = db.prepare(
    `INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, ?, 'x', 'mock', 'v1', 0, 'now')`,
  );
  const insertSimulation = db.prepare(
    `INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected) VALUES (?, ?, 'mock', 'prompt-logprobs', 'v1', ?)`,
  );
  const save = db.transaction((runId: number, featureId: number, windows: Window[]) => {
    const explanationId = insertExplanation.run(runId, featureId).lastInsertRowid;
    const recordIds = writeRecord(runId, featureId, windows);
    windows.forEach((window, position) => {
      if (window.expected) insertSimulation.run(explanationId, recordIds[position], layout.encode(window.expected));
    });
  });
  const msPerFeature: number[] = [];
  const bytes: number[] = [];
  for (let run = 0; run < 2; run++) {
    const runId = Number(insertRun.run().lastInsertRowid);
    const started = performance.now();
    features.forEach((windows, index) => save(runId, featureIds[index]!, windows));
    msPerFeature.push((performance.now() - started) / featureCount);
    db.pragma('wal_checkpoint(TRUNCATE)');
    bytes.push(statSync(path).size);
  }
  db.close();
  return { msPerFeature: msPerFeature as [number, number], bytes: bytes as [number, number] };
}

/** The windows' stored columns, encoded once: the digests are timed alone. */
const encoded = features.map((windows) =>
  windows.map((window) => ({
    tokensJson: JSON.stringify(window.tokens),
    activations: encodeFloat32Column(window.activations),
  })),
);

/** ms per feature of the window digests alone (sha256 of each window's stored columns). */
function digestMsPerFeature(): number {
  const started = performance.now();
  for (const windows of encoded) for (const window of windows) windowDigest(window.tokensJson, window.activations);
  return (performance.now() - started) / featureCount;
}

const names = Object.keys(layouts) as LayoutName[];
const results = new Map<LayoutName, Measured[]>(names.map((name) => [name, []]));
const digests: number[] = [];
for (let round = 0; round < 6; round++) {
  for (const name of names) {
    const result = measure(name, round);
    if (round > 0) results.get(name)!.push(result); // round 0 warms up
  }
  if (round > 0) digests.push(digestMsPerFeature());
}
rmSync(directory, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const msOf = (name: LayoutName, run: 0 | 1) => median(results.get(name)!.map((r) => r.msPerFeature[run]));
const bytesOf = (name: LayoutName, run: 0 | 1) => results.get(name)![0]!.bytes[run];
console.log(
  `${featureCount} features × ${WINDOWS} windows of 64 tokens (${WINDOWS - SIMULATED_FROM} simulated), two runs over the same features, one transaction per feature; median of 5 rounds:`,
);
for (const name of names) {
  const [first, second] = [bytesOf(name, 0), bytesOf(name, 1)];
  console.log(
    `  ${name.padEnd(36)} ${msOf(name, 0).toFixed(3)} / ${msOf(name, 1).toFixed(3)} ms per feature (run 1 / run 2), database ${(first / 1e6).toFixed(1)} MB after run 1, ${(second / 1e6).toFixed(1)} MB after run 2 (${(second / first).toFixed(2)}×)`,
  );
}
const [json, float32, windows] = names;
console.log(
  `  schema 5 / schema 11 time (run 1): ${(msOf(json!, 0) / msOf(float32!, 0)).toFixed(2)}×; schema 12 / schema 11 time: run 1 ${(msOf(windows!, 0) / msOf(float32!, 0)).toFixed(2)}×, run 2 ${(msOf(windows!, 1) / msOf(float32!, 1)).toFixed(2)}×`,
);
console.log(
  `  two runs' database, schema 12 / schema 11: ${(bytesOf(windows!, 1) / bytesOf(float32!, 1)).toFixed(2)}×; the window digests (sha256): ${median(digests).toFixed(3)} ms per feature`,
);
