/**
 * bench/serve — does `autointerp serve` stay fast at a million features? Builds a database of N synthetic features
 * of one run directly through SQL in large transactions (features, run_features, explanations with their full-text
 * index kept by the migration's triggers, 5 score kinds, 4 records of 32 tokens a feature of which 2 simulated),
 * starts the viewer on it, and prints: the first views of the runs page and of the run page (the placeholder, the
 * time until the worker thread's leaderboard and histograms are ready, and feature pages answered meanwhile), the
 * time the sections take on the server's own thread, and p50 / p95 of: the run page (cached), search queries (a selective word and a word in every explanation, by score; a selective word by
 * feature), a page sorted by score deep in the list (keyset cursor 90% of the way down) and the page before it, and a
 * feature page; and the database's bytes per feature.
 *
 *   npx tsx bench/serve.ts [--features 1000000] [--requests 40] [--db FILE (reuse or keep the database)]
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32, randomInteger } from '../src/common/random.ts';
import { renderRunSections } from '../src/serve/run-sections.ts';
import { startViewer } from '../src/serve/viewer-server.ts';
import { openDatabase } from '../src/store/database.ts';
import { resolveRun } from '../src/store/queries.ts';
import { encodeFloat32Column } from '../src/store/float32-column.ts';
import { RecordWindowWriter } from '../src/store/record-windows.ts';

const { values: flags } = parseArgs({
  options: {
    features: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '40' },
    db: { type: 'string' },
  },
});
const featureCount = Number(flags.features);
const requests = Number(flags.requests);
if (!(Number.isInteger(featureCount) && featureCount > 0)) throw new Error('--features: a positive integer');

const LAYERS = 8;
const WINDOW = 32;
const RECORDS = 4;
const KINDS = ['correlation.all', 'correlation.top', 'correlation.random', 'rsquared.all', 'absdev.all'];
/**
 * Words explanations are made of (3 of them each). A search is a prefix search: the queries use the words of two
 * characters after "word" (no other word starts with one of them), each in about 3 / 400 of the explanations.
 */
const WORDS = Array.from({ length: 400 }, (_, i) => `word${i.toString(36)}`);
const BATCH = 20_000;

const temporary = flags.db ? null : mkdtempSync(join(tmpdir(), 'autointerp-bench-serve-'));
const path = flags.db ?? join(temporary!, 'serve.db');

function build(): void {
  const db = openDatabase(path);
  const random = mulberry32(2026);
  const started = performance.now();
  db.prepare(
    `INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, finished_at, status)
     VALUES (1, ?, '{}', 'bench', '{"explain":"explain.v1","simulate":"simulate.v1"}', 'bench:explainer', 'bench:simulator', 0, 'synthetic', ?, ?, 'finished')`,
  ).run(`bench · ${featureCount} synthetic features`, new Date().toISOString(), new Date().toISOString());
  const insertFeature = db.prepare(
    `INSERT INTO features (id, model, layer, kind, idx, sae, max_activation, density, mean, variance) VALUES (?, 'bench', ?, 'neuron', ?, '', ?, ?, 0.1, 0.2)`,
  );
  const insertUnit = db.prepare(
    `INSERT INTO run_features (run_id, feature_id, status, finished_at) VALUES (1, ?, 'scored', 'now')`,
  );
  const insertExplanation = db.prepare(
    `INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, 1, ?, ?, 'bench:explainer', 'explain.v1', 0, 'now')`,
  );
  const insertScore = db.prepare(
    `INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode) VALUES (1, ?, ?, ?, ?, NULL, 64, 0, 'prompt-logprobs')`,
  );
  const insertRecord = db.prepare(
    `INSERT INTO records (run_id, feature_id, split, source, position, window_id) VALUES (1, ?, 'score', ?, ?, ?)`,
  );
  const windows = new RecordWindowWriter(db);
  const insertSimulation = db.prepare(
    `INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected) VALUES (?, ?, 'bench:simulator', 'prompt-logprobs', 'simulate.v1', ?)`,
  );
  const word = () => WORDS[randomInteger(random, WORDS.length)]!;
  const batch = db.transaction((from: number, to: number) => {
    for (let id = from; id < to; id++) {
      insertFeature.run(id, String(id % LAYERS), Math.floor(id / LAYERS), 5 + random() * 5, random() * 0.05);
      insertUnit.run(id);
      insertExplanation.run(id, id, `the tokens "${word()}", "${word()}" and "${word()}"`);
      const correlation = Math.round((random() * 1.4 - 0.4) * 1000) / 1000; // three decimals: many ties
      for (const [k, kind] of KINDS.entries())
        insertScore.run(id, id, kind, k === 0 ? correlation : correlation - 0.05 * k);
      for (let r = 0; r < RECORDS; r++) {
        const tokens = Array.from({ length: WINDOW }, () => ` t${randomInteger(random, 5000)}`);
        const activations = tokens.map(() => (random() < 0.1 ? Math.round(random() * 900) / 100 : 0));
        const source = r < 2 ? 'top' : 'random';
        const recordId = insertRecord.run(id, source, r, windows.idOf(id, tokens, activations))
          .lastInsertRowid as number;
        if (r % 2 === 0)
          insertSimulation.run(id, recordId, encodeFloat32Column(activations.map((a) => Math.min(10, a + random()))));
      }
    }
  });
  for (let from = 1; from <= featureCount; from += BATCH) {
    batch(from, Math.min(featureCount + 1, from + BATCH));
    if ((from - 1) % 200_000 === 0 && from > 1)
      console.log(`  … ${from - 1} features, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.exec('ANALYZE');
  db.close();
  console.log(`built ${featureCount} features in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

if (!existsSync(path)) build();
else console.log(`reusing ${path}`);
const bytes = statSync(path).size;
// Pages in use (a database upgraded in place keeps the pages a migration freed: the file is larger than its content).
const inUse = (() => {
  const db = openDatabase(path, { readonly: true });
  try {
    const pages =
      (db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number);
    return pages * (db.pragma('page_size', { simple: true }) as number);
  } finally {
    db.close();
  }
})();
console.log(
  `database: ${(bytes / 2 ** 20).toFixed(0)} MiB file, ${(inUse / 2 ** 20).toFixed(0)} MiB in use, ${(inUse / featureCount).toFixed(0)} bytes per feature`,
);

// Not warmed at start: the first view of the run page below is a cold one.
const viewer = await startViewer({ databasePath: path, port: 0, warmNewestRun: false });
const deep = viewer.db
  .prepare(
    `SELECT value, feature_id AS featureId FROM scores WHERE run_id = 1 AND kind = 'correlation.all' AND value IS NOT NULL
     ORDER BY value DESC, feature_id DESC LIMIT 1 OFFSET ?`,
  )
  .get(Math.floor(featureCount * 0.9)) as { value: number; featureId: number };

async function time(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${viewer.url}${url}`);
  const body = await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.slice(0, 300)}`);
  return performance.now() - started;
}

const random = mulberry32(7);
const cases: { name: string; url: () => string }[] = [
  { name: 'run page (leaderboard, histograms)', url: () => '/run/1' },
  {
    name: 'search a word in 0.75% of explanations (FTS), by score',
    url: () => `/search?run=1&q=${WORDS[36 + randomInteger(random, WORDS.length - 36)]}`,
  },
  { name: 'search a word in every explanation ("tokens"), by score', url: () => '/search?run=1&q=tokens' },
  {
    name: 'search a word in 0.75% of explanations (FTS), by feature',
    url: () => `/search?run=1&sort=feature&q=${WORDS[36 + randomInteger(random, WORDS.length - 36)]}`,
  },
  {
    name: 'sorted page 90% down (keyset)',
    url: () => `/search?run=1&sort=score-desc&after=${deep.value}:${deep.featureId}`,
  },
  {
    name: 'previous page 90% down (keyset backwards)',
    url: () => `/search?run=1&sort=score-desc&before=${deep.value}:${deep.featureId}`,
  },
  { name: 'feature page', url: () => `/feature/${1 + randomInteger(random, featureCount)}` },
];
/**
 * The run page's first view: the placeholder at once, then the sections from the worker thread. Meanwhile a feature
 * page is requested again and again: how long the slowest of those waited says whether the server stalled.
 */
async function firstViewOfRunPage(): Promise<void> {
  const started = performance.now();
  const first = await fetch(`${viewer.url}/run/1`).then((response) => response.text());
  const placeholder = performance.now() - started;
  const computing = first.includes('id="leaderboard-computing"');
  const others: number[] = [];
  let ready = placeholder;
  for (let poll = 0; computing && poll < 10_000; poll++) {
    // a request now and then, as a reader browsing meanwhile would (a tight loop would take a core from the worker)
    await new Promise((resolve) => setTimeout(resolve, 200));
    others.push(await time(`/feature/${1 + randomInteger(random, featureCount)}`));
    const page = await fetch(`${viewer.url}/run/1`).then((response) => response.text());
    if (!page.includes('id="leaderboard-computing"')) {
      ready = performance.now() - started;
      break;
    }
  }
  others.sort((a, b) => a - b);
  console.log(
    `run page, first view: ${computing ? 'placeholder' : 'whole page (computed inline)'} in ${placeholder.toFixed(0)} ms` +
      (computing
        ? `, sections ready after ${(ready / 1000).toFixed(1)} s; meanwhile ${others.length} feature pages: p50 ${quantile(others, 0.5).toFixed(0)} ms, max ${(others.at(-1) ?? 0).toFixed(0)} ms`
        : ''),
  );
}

const runsStarted = performance.now();
await time('/');
console.log(
  `runs page, first view (over a large database its counts come from a worker thread): ${(performance.now() - runsStarted).toFixed(0)} ms`,
);
await firstViewOfRunPage();
console.log(`\n| request (${featureCount.toLocaleString('en')} features, ${requests} each) | p50 ms | p95 ms |`);
console.log('|---|---:|---:|');
for (const benchCase of cases) {
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await time(benchCase.url()));
  times.sort((a, b) => a - b);
  console.log(`| ${benchCase.name} | ${quantile(times, 0.5).toFixed(1)} | ${quantile(times, 0.95).toFixed(1)} |`);
}
{
  // What the request path would cost (the worker's work, on the server's thread): why a small database stays inline.
  // Last: it blocks the server, whose idle keep-alive connections then close under the client.
  const run = resolveRun(viewer.db, '1')!;
  const inline = performance.now();
  renderRunSections(viewer.db, run, 'correlation.all');
  console.log(`\nthe run's sections rendered on the server's thread: ${(performance.now() - inline).toFixed(0)} ms`);
}
await viewer.close();
if (temporary) rmSync(temporary, { recursive: true, force: true });
