/**
 * `autointerp run --batch` as a user runs it: left while a batch is pending (`--batch-wait 0`, or kill -9 right after
 * the submission), then `--resume` polls the recorded batch instead of submitting another, and completes with the
 * results of an uninterrupted live run (computed in this process).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { autointerpBinary, cli as runCli } from '../helpers/run-cli.ts';
import { expectNotInDatabaseFiles } from '../helpers/secret-scan.ts';
import type { PipelineConfigInput } from '../../src/pipeline/config.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-batch-cli-'));
const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const openAiSentinel = 'sk-SENTINELBATCH0123456789';
const anthropicSentinel = 'sk-ant-SENTINELBATCH-do-not-leak';
const environment = {
  ...process.env,
  OPENAI_API_KEY: openAiSentinel,
  ANTHROPIC_API_KEY: anthropicSentinel,
  AUTOINTERP_DB: '',
};

/** `autointerp <args>` in-process (the fake server lives in this process and must keep answering). */
function cli(args: string[]) {
  return runCli(args, {
    cwd: directory,
    env: { OPENAI_API_KEY: openAiSentinel, ANTHROPIC_API_KEY: anthropicSentinel, AUTOINTERP_DB: '' },
  });
}

function query<T>(path: string, sql: string): T[] {
  const database = new Database(path, { readonly: true });
  try {
    return database.prepare(sql).all() as T[];
  } finally {
    database.close();
  }
}

const resultsOf = (path: string) => ({
  scores: query(
    path,
    'SELECT f.idx, s.kind, s.value, s.reason FROM scores s JOIN features f ON f.id = s.feature_id ORDER BY f.idx, s.kind',
  ),
  explanations: query(
    path,
    'SELECT f.idx, e.text FROM explanations e JOIN features f ON f.id = e.feature_id ORDER BY f.idx',
  ),
});

/** The reference: an uninterrupted live run of the same features, in this process. */
async function liveRun(name: string, config: PipelineConfigInput): Promise<string> {
  const path = join(directory, name);
  const store = new ResultStore(openDatabase(path));
  const saved = process.env.ANTHROPIC_API_KEY;
  process.env.ANTHROPIC_API_KEY = anthropicSentinel;
  try {
    // The scorers of the batch runs below (`--scorers correlation`).
    const summary = await runPipeline({ source, baseUrl: server.url, scorers: ['correlation'], ...config }, { store });
    expect(summary).toMatchObject({ status: 'finished', scored: 4 });
  } finally {
    if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
    else process.env.ANTHROPIC_API_KEY = saved;
    store.db.close();
  }
  return path;
}

let server: FakeLlmServer;
let source: string;
/** While true, the server holds every poll of a batch until the client goes away (never answered). */
let holdingPolls = false;

/** `autointerp run --batch` over the features, with the scorers of `liveRun` and a 50 ms poll. */
const batchRunArguments = (provider: readonly string[], db: string): string[] => [
  'run',
  '--records',
  source,
  '--scorers',
  'correlation', // one explain batch and one simulate batch (a judge's requests would add a batch)
  ...provider,
  '--db',
  db,
  '--no-progress',
  '--batch',
  '--batch-poll',
  '0.05',
];

describe('autointerp run --batch: leave while a batch is pending, resume', () => {
  beforeAll(async () => {
    // A batch ends on its third poll, never on time. While `holdingPolls`, a poll hangs until its client goes away: a
    // process killed right after its submission leaves the batch pending however long the kill takes to land.
    server = await startFakeLlmServer({
      lexiconPath,
      batch: { pollsUntilDone: 3 },
      intercept: async (context, next) => {
        if (!holdingPolls || context.request.method !== 'GET' || !context.request.path.includes('batches/'))
          return next();
        await new Promise<void>((resolve) => {
          if (context.signal.aborted) resolve();
          context.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        return { status: 504, headers: {}, body: 'held until the client went away (never sent)' };
      },
    });
    source = writeFeaturesJsonl(join(directory, 'four.jsonl'), syntheticFeatures(4));
  });
  afterAll(async () => {
    await server.close();
  });

  it('--help lists --batch, --batch-poll and --batch-wait', async () => {
    const help = await cli(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--batch\s+send explain and simulate requests through the\s+providers' Batch APIs/);
    expect(help.stdout).toMatch(/--batch-poll <seconds>/);
    expect(help.stdout).toMatch(/--batch-wait <seconds>/);
  });

  it('OpenAI: --batch-wait 0 submits and exits; --resume polls the recorded batch (one create per phase) and the run completes as a live run would', async () => {
    const provider = [
      '--explainer',
      'openai-compatible:rule-based-v1',
      '--simulator',
      'openai-compatible:rule-based-v1',
      '--base-url',
      server.url,
    ];
    const live = await liveRun('openai-live.db', {
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
    });

    const db = join(directory, 'openai-batch.db');
    const from = server.requests.length;
    const first = await cli([...batchRunArguments(provider, db), '--batch-wait', '0']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(
      /submitted explain batch batch_fake\d+ to openai-compatible:rule-based-v1: 4 requests/,
    );
    expect(first.stderr).toMatch(
      /left batch batch_fake\d+ pending at the provider; `autointerp run --resume 1 --db .*` polls it again/,
    );
    expect(first.stderr).toMatch(/run 1 interrupted: 0 scored, 1 skipped, 0 failed of 5/);
    const explainBatch = /submitted explain batch (batch_fake\d+)/.exec(first.stderr)![1]!;
    expect(query(db, 'SELECT phase, batch_id, ingested, request_count FROM llm_batches')).toEqual([
      { phase: 'explain', batch_id: explainBatch, ingested: 0, request_count: 4 },
    ]);
    expect(query(db, 'SELECT status FROM runs')).toEqual([{ status: 'interrupted' }]);

    // A resume polls the pending batch again, never resubmits it; without --batch-wait (per invocation, not inherited
    // from the first) it waits until everything is scored.
    let resumes = 0;
    let last = first;
    while (!/run 1 finished/.test(last.stderr) && resumes < 4) {
      last = await cli(['run', '--resume', '1', '--db', db, '--no-progress']);
      expect(last.code, last.stderr).toBe(0);
      resumes += 1;
    }
    expect(last.stderr).toMatch(/run 1 finished: 4 scored, 1 skipped, 0 failed of 5/);
    expect(resumes).toBe(1);
    expect(last.stderr).toMatch(
      /batch explain: 4 requests · 0 answered already · 4 pending in recorded batches · 0 to submit/,
    );
    const seen = server.requests.slice(from).map((r) => `${r.method} ${r.path}`);
    expect(seen.filter((r) => r === 'POST /v1/batches')).toHaveLength(2); // one explain batch, one simulate batch
    expect(seen.filter((r) => r === `GET /v1/batches/${explainBatch}`).length).toBeGreaterThanOrEqual(3);
    expect(seen.filter((r) => r === 'POST /v1/chat/completions' || r === 'POST /v1/completions')).toEqual([]);
    expect(query(db, 'SELECT phase, ingested FROM llm_batches ORDER BY id')).toEqual([
      { phase: 'explain', ingested: 1 },
      { phase: 'simulate', ingested: 1 },
    ]);
    expect(resultsOf(db)).toEqual(resultsOf(live));
    // the key went to the server (loopback) on every batch call, and nowhere else
    const batchCalls = server.requests
      .slice(from)
      .filter((r) => r.path.startsWith('/v1/files') || r.path.startsWith('/v1/batches'));
    expect(new Set(batchCalls.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${openAiSentinel}`]));
    expectNotInDatabaseFiles(db, 'SENTINELBATCH');
    for (const output of [first.stdout, first.stderr, last.stdout, last.stderr])
      expect(output).not.toContain('SENTINELBATCH');
  }, 90_000);

  it('Anthropic: kill -9 right after the explain batch is submitted; --resume re-polls that batch (exactly one create) and completes', async () => {
    const provider = [
      '--explainer',
      'anthropic:claude-test',
      '--simulator',
      'anthropic:claude-test',
      '--base-url',
      server.url,
      '--simulation-samples',
      '2',
    ];
    const live = await liveRun('anthropic-live.db', {
      explainer: 'anthropic:claude-test',
      simulator: 'anthropic:claude-test',
      simulationSamples: 2,
    });

    const db = join(directory, 'anthropic-batch.db');
    const from = server.requests.length;
    holdingPolls = true;
    let stderr = '';
    try {
      const child = spawn(process.execPath, [autointerpBinary, ...batchRunArguments(provider, db)], {
        cwd: directory,
        env: environment,
      });
      const submitted = new Promise<void>((resolve) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          if (/submitted explain batch/.test(stderr)) resolve();
        });
      });
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await Promise.race([submitted, exited]);
      child.kill('SIGKILL');
      expect(await exited, stderr).toBeNull();
    } finally {
      holdingPolls = false; // a failed expect above must not leave the later tests' polls hanging
    }
    const explainBatch = /submitted explain batch (msgbatch_fake\d+)/.exec(stderr)![1]!;
    expect(query(db, 'SELECT phase, batch_id, ingested FROM llm_batches')).toEqual([
      { phase: 'explain', batch_id: explainBatch, ingested: 0 },
    ]);

    const resumed = await cli(['run', '--resume', '1', '--db', db, '--no-progress', '--batch-poll', '0.05']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /batch explain: 4 requests · 0 answered already · 4 pending in recorded batches · 0 to submit/,
    );
    expect(resumed.stderr).toMatch(/run 1 \(resumed\)/);
    expect(resumed.stderr).toMatch(/run 1 finished: 4 scored, 1 skipped, 0 failed of 5/);
    const seen = server.requests.slice(from).map((r) => `${r.method} ${r.path}`);
    const creates = server.requests.slice(from).filter((r) => r.method === 'POST' && r.path === '/v1/messages/batches');
    expect(creates.map((r) => (r.body as { requests: unknown[] }).requests.length)).toEqual([4, 8]); // explain once, then 4 features × 2 samples
    expect(seen).toContain(`GET /v1/messages/batches/${explainBatch}/results`);
    expect(seen.filter((r) => r === 'POST /v1/messages')).toEqual([]);
    expect(query(db, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(
      query(db, 'SELECT COUNT(*) AS n, COUNT(DISTINCT feature_id) AS distinct_features FROM run_features'),
    ).toEqual([{ n: 5, distinct_features: 5 }]);
    expect(resultsOf(db)).toEqual(resultsOf(live));
    expectNotInDatabaseFiles(db, 'SENTINELBATCH');
    for (const output of [stderr, resumed.stdout, resumed.stderr]) expect(output).not.toContain('SENTINELBATCH');
  }, 90_000);
});
