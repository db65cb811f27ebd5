import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import type { RecordedRequest } from '../../src/llm/fake-server/http-exchange.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { mulberry32 } from '../../src/common/random.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-kill-'));
const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
// Six kills of a 20-feature run (it was ten of 40; the property does not need the size): the k-th kill still lands at a
// seeded random point of its own sixth of the run (see below) plus 0-40 ms, so the kills fall at the start (none or a
// few features done), in the middle and near the end, between features and inside requests and transactions (each
// feature makes six model requests with the default scorers), and the last resume finishes the rest. What a cycle
// costs is a process start plus the features it runs, so fewer kills and fewer features per kill are what make the
// test quicker.
const kills = 6;
const total = 20; // 19 live features and a dead one

interface Child {
  /** Resolves with the exit code (null when killed). */
  exited: Promise<number | null>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** Resolves once the run has started (its first stderr line), or when the child exits. */
  started: Promise<void>;
  stderr: () => string;
  kill(): void;
}

function startCli(args: string[]): Child {
  const child = spawn(process.execPath, [join(root, 'bin/autointerp.js'), ...args], {
    cwd: directory,
    env: { ...process.env, OPENAI_API_KEY: '' },
  });
  let stderr = '';
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (/^run \d+/m.test(stderr)) markStarted();
  });
  child.stdout.resume();
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => ((hasExited = true), markStarted(), resolve(code))),
  );
  return { exited, hasExited: () => hasExited, started, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

/**
 * The features the run has finished so far (its run_features rows), read while the child may be writing: one read-only
 * connection for a cycle's polls (opening one costs about 0.7 ms of CPU, a query a hundredth of that; each read sees
 * the latest commit).
 */
function finishedCounter(dbPath: string): { count(): number; close(): void } {
  const database = new Database(dbPath, { readonly: true, fileMustExist: true });
  const statement = database.prepare('SELECT COUNT(*) AS n FROM run_features');
  return { count: () => (statement.get() as { n: number }).n, close: () => database.close() };
}

/** Features the run has finished so far, read once. */
function finishedCount(dbPath: string): number {
  const counter = finishedCounter(dbPath);
  try {
    return counter.count();
  } finally {
    counter.close();
  }
}

/**
 * The prompt of an explain request (a chat request asking for text: the simulation's and the judges' ask for
 * logprobs), else undefined.
 */
function explainPromptOf(request: RecordedRequest): string | undefined {
  const body = request.body as { messages?: unknown; logprobs?: unknown } | undefined;
  if (!request.path.endsWith('/chat/completions') || body?.messages === undefined || body.logprobs !== undefined)
    return undefined;
  return JSON.stringify(body.messages);
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function resultsOf(dbPath: string) {
  const database = new Database(dbPath, { readonly: true });
  try {
    return {
      integrity: database.pragma('integrity_check', { simple: true }),
      finished: database
        .prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT feature_id) AS distinct_features FROM run_features')
        .get(),
      explanations: database
        .prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT feature_id) AS distinct_features FROM explanations')
        .get(),
      records: database.prepare('SELECT COUNT(*) AS n FROM records').get(),
      simulations: database.prepare('SELECT COUNT(*) AS n FROM simulations').get(),
      scores: database
        .prepare(
          'SELECT f.idx, s.kind, s.value, s.reason, s.n_tokens FROM scores s JOIN features f ON f.id = s.feature_id ORDER BY f.idx, s.kind',
        )
        .all(),
      texts: database
        .prepare('SELECT f.idx, e.text FROM explanations e JOIN features f ON f.id = e.feature_id ORDER BY f.idx')
        .all(),
      status: database.prepare('SELECT status FROM runs').all(),
    };
  } finally {
    database.close();
  }
}

describe('crash safety: kill -9 at random moments, then --resume', () => {
  let server: FakeLlmServer;
  // From each cycle's hold point on, model requests that arrive hang until the killed child goes away. The hold point
  // is counted by the server, which cannot lag: distinct features whose explain request it has answered (over all cycles:
  // a resumed feature's explain counts once). The database's count of finished features trails the features finished
  // by up to a commit group's delay (100 ms), while the server would keep answering; the server's count does not.
  let holdFrom: number | undefined;
  /** The explain prompts answered (one a feature: a feature explained again asks the same). */
  const explained = new Set<string>();
  const holding = () => holdFrom !== undefined && explained.size >= holdFrom;
  beforeAll(async () => {
    server = await startFakeLlmServer({
      lexiconPath,
      latencyMs: 20,
      intercept: async (context, next) => {
        if (context.request.method !== 'POST') return next();
        if (holding()) {
          await new Promise<void>((resolve) => {
            if (context.signal.aborted) resolve();
            context.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          return { status: 504, headers: {}, body: 'held until the client went away (never sent)' };
        }
        const response = await next();
        const prompt = explainPromptOf(context.request);
        if (prompt !== undefined && response.status === 200) explained.add(prompt);
        return response;
      },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it(`after ${kills} kills and resumes every feature is there exactly once, the database is intact, results equal an uninterrupted run's`, async () => {
    const source = writeFeaturesJsonl(join(directory, 'features.jsonl'), syntheticFeatures(total - 1));
    const config = {
      source,
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      concurrency: 4,
      // Large enough that every simulation call fits the no-tokenizer bound (simulate/plan-simulation-calls): with the
      // default 8192 of an unknown model, every child loaded the tokenizer mid-run (about 1.5 s of CPU each, a third of
      // a cycle), which is not what this test is about.
      contextTokens: 100_000,
    };
    // The uninterrupted run, in this process while the kill cycles run (against a server of its own, which never
    // holds a request): awaited before the comparison.
    const referencePath = join(directory, 'reference.db');
    const referenceDone = (async () => {
      const referenceServer = await startFakeLlmServer({ lexiconPath, latencyMs: 20 });
      const reference = new ResultStore(openDatabase(referencePath));
      try {
        return await runPipeline({ ...config, baseUrl: referenceServer.url }, { store: reference });
      } finally {
        reference.db.close();
        await referenceServer.close();
      }
    })();
    referenceDone.catch(() => undefined); // awaited (and its failure reported) below

    const killedPath = join(directory, 'killed.db');
    const common = ['--db', killedPath, '--no-progress'];
    const firstArgs = [
      'run',
      '--records',
      source,
      '--explainer',
      config.explainer,
      '--simulator',
      config.simulator,
      '--base-url',
      server.url,
      '--concurrency',
      '4',
      '--context-tokens',
      String(config.contextTokens),
      ...common,
    ];
    // Seeded random kill moments, spread over the run: the k-th kill (of n) comes once the run has finished (committed)
    // a random number of features between k/n and (k+1)/n of the way through its first total - 8 (cycle 0: right after
    // the run starts), then a further random 0-40 ms, so that kills land between features and inside requests and
    // transactions alike. The server holds new model requests once it has answered the explains of target + 4
    // features (4 = concurrency). Reached by construction: when the hold begins, at most 4 explained features are in
    // flight (features run in source order, a resumed feature before any new one), so target of them have finished,
    // and the commit group commits them within its delay. Bounded by construction: explains in flight then add at most
    // 3, so at most target + 7 <= 18 of the 19 live features are ever explained before the kill, and no child can
    // finish the run itself, however late the kill comes.
    const random = mulberry32(2024);
    let killed = 0;
    let finished = false;
    const progress: number[] = [];
    for (let cycle = 0; cycle < kills; cycle++) {
      const target = Math.floor(((cycle + random()) / kills) * (total - 8));
      const delayMs = Math.floor(random() * 40);
      holdFrom = target + 4;
      const child = startCli(cycle === 0 ? firstArgs : ['run', '--resume', '1', ...common]);
      await child.started;
      if (!child.hasExited()) {
        const finished = finishedCounter(killedPath);
        try {
          while (!child.hasExited() && finished.count() < target) await sleep(10);
        } finally {
          finished.close();
        }
      }
      await sleep(delayMs);
      child.kill();
      const code = await child.exited;
      if (code === null) {
        killed += 1;
        progress.push(finishedCount(killedPath));
      } else if (code === 0) {
        finished = true;
        break;
      } else throw new Error(`child exited with ${code}: ${child.stderr()}`);
    }
    console.log(`features done at each kill: ${progress.join(', ')}`);
    expect(killed, `features done at each kill: ${progress}`).toBe(kills);
    // Every kill interrupted the run, most in its middle, and no kill lost a finished feature.
    expect(
      progress.every((done) => done < total),
      `features done at each kill: ${progress}`,
    ).toBe(true);
    expect(
      progress.filter((done) => done > 0).length,
      `features done at each kill: ${progress}`,
    ).toBeGreaterThanOrEqual(kills - 2);
    expect(progress, 'finished features never decrease').toEqual([...progress].sort((a, b) => a - b));
    holdFrom = undefined;
    if (!finished) {
      const last = startCli(['run', '--resume', '1', ...common]);
      expect(await last.exited, last.stderr()).toBe(0);
    }
    expect(await referenceDone).toMatchObject({ status: 'finished', total });
    const expected = resultsOf(referencePath);
    const actual = resultsOf(killedPath);
    expect(actual.integrity).toBe('ok');
    expect(actual.finished).toEqual({ n: total, distinct_features: total });
    expect(actual.explanations).toEqual({ n: total - 1, distinct_features: total - 1 });
    expect(actual.records).toEqual(expected.records);
    expect(actual.simulations).toEqual(expected.simulations);
    expect(actual.texts).toEqual(expected.texts);
    expect(actual.scores).toEqual(expected.scores);
    expect(actual.status).toEqual([{ status: 'finished' }]);
  }, 1_200_000); // a hang guard only: each kill cycle starts a process (the test took 335 s at load 12 on 2 cores)
});
