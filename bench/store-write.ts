/**
 * @module bench/store-write — the cost of the numeric series of a feature's result in SQLite: the same records and
 * simulations rows (24 windows of 64 tokens, 14 of them simulated) written per feature in one transaction, with the
 * activations and expected values as JSON text (schema ≤ 5) or as float32 BLOBs (schema 6, store/float32-column),
 * interleaved in one run, each into a fresh database. Prints time per feature and the database size.
 * Run: `npx tsx bench/store-write.ts [features]`. Prints numbers only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/common/random.ts';
import { openDatabase } from '../src/store/database.ts';
import { encodeFloat32Column } from '../src/store/float32-column.ts';

const featureCount = Number(process.argv[2] ?? 1000);
const random = mulberry32(3);
const vocabulary = Array.from({ length: 500 }, (_, i) => ` w${i}`);
interface Row {
  tokens: string[];
  activations: number[];
  expected: number[] | null;
}
const features: Row[][] = Array.from({ length: featureCount }, () =>
  Array.from({ length: 24 }, (_, i) => {
    const tokens = Array.from({ length: 64 }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
    return {
      tokens,
      activations: tokens.map(() => (random() < 0.1 ? random() * 5 : 0)),
      expected: i >= 10 ? tokens.map(() => random() * 10) : null,
    };
  }),
);

const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-store-'));
const encodings = {
  'JSON text': (values: readonly number[]) => JSON.stringify(values),
  'float32 BLOB': (values: readonly number[]) => encodeFloat32Column(values),
};
type Encoding = keyof typeof encodings;

function write(encoding: Encoding, round: number): { msPerFeature: number; megabytes: number } {
  const path = join(directory, `${round}-${encoding.replace(' ', '-')}.db`);
  const db = openDatabase(path);
  const encode = encodings[encoding];
  const runId = Number(
    db
      .prepare(
        `INSERT INTO runs (name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
         VALUES ('bench', '{}', 'bench', '{}', 'mock', 'mock', 0, 'bench', 'now', 'running')`,
      )
      .run().lastInsertRowid,
  );
  const insertFeature = db.prepare(`INSERT INTO features (model, layer, kind, idx) VALUES ('bench', '0', 'neuron', ?)`);
  const insertExplanation = db.prepare(
    `INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, ?, 'x', 'mock', 'v1', 0, 'now')`,
  );
  const insertRecord = db.prepare(
    `INSERT INTO records (run_id, feature_id, split, source, position, tokens, activations) VALUES (?, ?, 'score', 'top', ?, ?, ?)`,
  );
  const insertSimulation = db.prepare(
    `INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected) VALUES (?, ?, 'mock', 'prompt-logprobs', 'v1', ?)`,
  );
  const save = db.transaction((index: number, rows: Row[]) => {
    const featureId = Number(insertFeature.run(index).lastInsertRowid);
    const explanationId = Number(insertExplanation.run(runId, featureId).lastInsertRowid);
    rows.forEach((row, position) => {
      const recordId = insertRecord.run(
        runId,
        featureId,
        position,
        JSON.stringify(row.tokens),
        encode(row.activations),
      ).lastInsertRowid;
      if (row.expected) insertSimulation.run(explanationId, recordId, encode(row.expected));
    });
  });
  const started = performance.now();
  features.forEach((rows, index) => save(index, rows));
  const msPerFeature = (performance.now() - started) / featureCount;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { msPerFeature, megabytes: statSync(path).size / 1e6 };
}

const results: Record<Encoding, { msPerFeature: number; megabytes: number }[]> = {
  'JSON text': [],
  'float32 BLOB': [],
};
for (let round = 0; round < 6; round++) {
  for (const encoding of Object.keys(encodings) as Encoding[]) {
    const result = write(encoding, round);
    if (round > 0) results[encoding].push(result); // round 0 warms up
  }
}
rmSync(directory, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${featureCount} features, 24 records + 14 simulations each, one transaction per feature; median of 5 rounds:`,
);
for (const encoding of Object.keys(encodings) as Encoding[]) {
  const ms = median(results[encoding].map((r) => r.msPerFeature));
  console.log(
    `  ${encoding.padEnd(13)} ${ms.toFixed(3)} ms per feature, database ${results[encoding][0]!.megabytes.toFixed(1)} MB`,
  );
}
const ratio =
  median(results['JSON text'].map((r) => r.msPerFeature)) / median(results['float32 BLOB'].map((r) => r.msPerFeature));
console.log(`  JSON text / float32 BLOB time: ${ratio.toFixed(2)}×`);
