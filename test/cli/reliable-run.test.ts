import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import { cli as runCli } from '../helpers/run-cli.ts';
import { expectNotInDatabaseFiles } from '../helpers/secret-scan.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-reliable-cli-'));
const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const sentinel = 'sk-SENTINELKEY0123456789abcdef';

/** Runs the CLI in-process (asynchronously: the fake server lives in this process and must keep answering). */
function cli(args: string[]) {
  return runCli(args, { cwd: directory, env: { OPENAI_API_KEY: sentinel, AUTOINTERP_DB: '' } });
}

function expectNoKey(...texts: string[]) {
  for (const text of texts) expect(text.includes('SENTINELKEY')).toBe(false);
}

describe('autointerp run against the fake server: cache, budget, no key anywhere', () => {
  let server: FakeLlmServer;
  let source: string;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath });
    source = writeFeaturesJsonl(join(directory, 'eight.jsonl'), syntheticFeatures(8, { dead: false }));
  });
  afterAll(async () => {
    await server.close();
  });
  const providerArgs = () => [
    '--records',
    source,
    '--explainer',
    'openai-compatible:rule-based-v1',
    '--simulator',
    'openai-compatible:rule-based-v1',
    '--base-url',
    server.url,
  ];

  it('a second identical run makes 0 provider calls (answers from the cache), and the key is never stored or printed', async () => {
    const db = join(directory, 'cache.db');
    const first = await cli(['run', ...providerArgs(), '--db', db, '--no-progress']);
    expect(first.code, first.stderr).toBe(0);
    const posts = () => server.requests.filter((request) => request.method === 'POST').length;
    const afterFirst = posts();
    // 8 explanations and 8 simulations, and the judged scorers' calls (the judge is the simulator by default)
    expect(afterFirst).toBeGreaterThan(16);
    expect(server.requests.filter((request) => request.method === 'GET').map((request) => request.path)).toEqual([
      '/v1/models',
    ]); // the pre-flight
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${sentinel}`);
    const second = await cli(['run', ...providerArgs(), '--db', db, '--no-progress']);
    expect(second.code, second.stderr).toBe(0);
    expect(posts()).toBe(afterFirst);
    const database = new Database(db, { readonly: true });
    expect(
      database.prepare('SELECT run_id, SUM(cached) AS cached, COUNT(*) AS n FROM llm_calls GROUP BY run_id').all(),
    ).toEqual([
      { run_id: 1, cached: 0, n: afterFirst },
      { run_id: 2, cached: afterFirst, n: afterFirst },
    ]);
    const scores = (run: number) =>
      database
        .prepare(`SELECT feature_id, kind, value FROM scores WHERE run_id = ? ORDER BY feature_id, kind`)
        .all(run);
    expect(scores(2)).toEqual(scores(1));
    database.close();
    expectNoKey(first.stdout, first.stderr, second.stdout, second.stderr);
    expectNotInDatabaseFiles(db, 'SENTINELKEY');
    // --no-cache reaches the server again
    const third = await cli(['run', ...providerArgs(), '--db', db, '--no-progress', '--no-cache', '--limit', '1']);
    expect(third.code, third.stderr).toBe(0);
    const reopened = new Database(db, { readonly: true });
    const thirdCalls = reopened
      .prepare('SELECT COUNT(*) AS n, SUM(cached) AS cached FROM llm_calls WHERE run_id = 3')
      .get();
    reopened.close();
    expect(thirdCalls).toEqual({ n: posts() - afterFirst, cached: 0 });
    expect(posts()).toBeGreaterThanOrEqual(afterFirst + 2); // at least the feature's explanation and simulation
  }, 60_000);

  it('--max-cost stops between units of work within one unit of the cap, says what was spent and left, and resumes', async () => {
    const db = join(directory, 'budget.db');
    const prices = join(directory, 'prices.json');
    writeFileSync(
      prices,
      JSON.stringify({ prices: { 'openai-compatible:*': { inputPerMillion: 1000, outputPerMillion: 1000 } } }),
    );
    const unpriced = await cli(['run', ...providerArgs(), '--db', db, '--no-progress', '--max-cost', '1']);
    expect(unpriced.code).toBe(2);
    expect(unpriced.stderr).toMatch(/--max-cost needs a price for openai-compatible:rule-based-v1/);

    const capped = await cli([
      'run',
      ...providerArgs(),
      '--db',
      db,
      '--no-progress',
      '--concurrency',
      '1',
      '--max-cost',
      '8',
      '--prices',
      prices,
    ]);
    expect(capped.code, capped.stderr).toBe(0); // a budget stop is an expected end, not an error
    expect(capped.stderr).toMatch(/budget reached/);
    expect(capped.stderr).toMatch(/interrupted: .* spent \$\d+\.\d+ of \$8\.00 · \d+ left to do/);
    expect(capped.stderr).toMatch(/resume with: autointerp run --resume 1 --max-cost <more>/);
    const database = new Database(db, { readonly: true });
    const perFeature = database
      .prepare('SELECT feature_id, SUM(cost_usd) AS cost FROM llm_calls GROUP BY feature_id')
      .all() as { cost: number }[];
    const spent = perFeature.reduce((sum, row) => sum + row.cost, 0);
    const costliest = Math.max(...perFeature.map((row) => row.cost));
    expect(perFeature.length).toBeGreaterThan(0);
    expect(perFeature.length).toBeLessThan(8);
    expect(spent).toBeGreaterThanOrEqual(8);
    expect(spent - 8).toBeLessThan(costliest); // stopped within one unit of work past the cap
    database.close();

    const resumed = await cli(['run', '--resume', '1', '--db', db, '--no-progress', '--max-cost', '1000']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/run 1 finished: 8 scored/);
    expectNoKey(capped.stdout, capped.stderr, resumed.stderr);
  }, 60_000);
});
