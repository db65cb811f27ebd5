/**
 * The simulation protocol in runs (issue 13, items 1 and 3): `recordsPerCall` and the context budget reach the
 * simulator, the protocol is stored with every score and shown (never pooled) on the leaderboard, and incomplete
 * answers fail their features, which the summary and the exit code show.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExitCode } from '../../src/cli/run.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import type { LlmRequest, LlmResult } from '../../src/llm/types.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { formatLeaderboardTable, leaderboardsToCsv } from '../../src/report/format-leaderboard.ts';
import { comparisonWarnings } from '../../src/report/compare.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { chatLogprobAnswer, chatSimulationTargets } from '../helpers/chat-simulation.ts';
import { cli as runCli } from '../helpers/run-cli.ts';
import { inMemoryBatchClient } from '../helpers/in-memory-batch-client.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { perfectProviders } from '../helpers/pipeline-mocks.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-protocol-'));
const source = writeFeaturesJsonl(join(directory, 'four.jsonl'), syntheticFeatures(4)); // 4 live features + 1 dead
/** The scorers whose calls these tests count (the simulation's). */
const scorers = ['correlation', 'ablation'];
const openStore = (name: string) => new ResultStore(openDatabase(join(directory, name)));
/** Held-out records simulated per feature by default: 5 + 5 scored, calibration records beside them. */
const heldOutRecords = (request: LlmRequest) =>
  request.prompt!.slice(request.prompt!.lastIndexOf('Explanation of neuron')).split('<start>').length - 1;

describe('records per call in runs', () => {
  it('recordsPerCall 1: one simulation call per held-out record, the protocol stored and shown apart from "all"', async () => {
    const store = openStore('one.db');
    const one = perfectProviders();
    const summary = await runPipeline({ source, scorers, recordsPerCall: 1 }, { store, ...one });
    expect(summary).toMatchObject({ status: 'finished', scored: 4, skipped: 1, failed: 0 });
    expect(one.simulator.requests.length).toBeGreaterThan(4 * 10);
    for (const request of one.simulator.requests) expect(heldOutRecords(request)).toBe(1);
    const stored = store.db
      .prepare('SELECT DISTINCT records_per_call AS n FROM scores WHERE run_id = ? AND simulation_mode IS NOT NULL')
      .all(summary.runId);
    expect(stored).toEqual([{ n: 1 }]);
    expect(store.db.prepare('SELECT DISTINCT records_per_call AS n FROM simulations').all()).toEqual([{ n: 1 }]);

    const all = perfectProviders();
    const whole = await runPipeline({ source, scorers }, { store, ...all });
    expect(all.simulator.requests).toHaveLength(4); // the default: every held-out record of a feature in one call
    expect(
      store.db.prepare('SELECT DISTINCT records_per_call AS n FROM scores WHERE run_id = ?').all(whole.runId),
    ).toEqual([{ n: null }]);
    // compare and regress warn that the two runs measured differently
    const warnings = comparisonWarnings(
      store.db,
      store.getRun(whole.runId)!,
      store.getRun(summary.runId)!,
      'correlation.all',
    );
    expect(warnings.find((warning) => warning.code === 'simulation-mode')?.message).toMatch(
      /baseline prompt-logprobs; candidate prompt-logprobs · 1\/call/,
    );

    const board = buildLeaderboard(store.db, store.getRun(summary.runId)!);
    expect(board.rows.every((row) => row.recordsPerCall === 1)).toBe(true);
    expect(formatLeaderboardTable(board)).toContain('prompt-logprobs · 1/call');
    expect(leaderboardsToCsv([board])).toMatch(/simulation_mode,records_per_call,/);
    // Rows of one layer simulated under two protocols are two rows, never one pool.
    store.db
      .prepare(
        'UPDATE scores SET records_per_call = NULL WHERE run_id = ? AND feature_id = (SELECT id FROM features WHERE idx = 0)',
      )
      .run(summary.runId);
    const mixed = buildLeaderboard(store.db, store.getRun(summary.runId)!);
    const layer0 = mixed.rows.filter((row) => row.layer === '0');
    expect(layer0.map((row) => row.recordsPerCall).sort()).toEqual([1, null]);
    expect(formatLeaderboardTable(mixed)).toMatch(
      /NOTE: rows come from 2 simulation modes \(prompt-logprobs, prompt-logprobs · 1\/call\)/,
    );
    store.db.close();
  });

  it('the context budget splits a feature whose records do not fit one call', async () => {
    const store = openStore('budget.db');
    const providers = perfectProviders();
    const summary = await runPipeline({ source, scorers, contextTokens: 1_200 }, { store, ...providers });
    expect(summary).toMatchObject({ scored: 4, failed: 0 });
    expect(providers.simulator.requests.length).toBeGreaterThan(4);
    store.db.close();
  });
});

const targetsOf = chatSimulationTargets;
/** A chat answer with value 0 for the given tokens of each block. */
const chatAnswer = (blocks: string[][]): LlmResult => chatLogprobAnswer(blocks, () => 0);

/** A chat answer giving values for only the first half of each asked record's tokens. */
const halfAnswer = (request: LlmRequest) =>
  chatAnswer(targetsOf(request).map((block) => block.slice(0, Math.ceil(block.length / 2))));

describe('incomplete answers in batch runs', () => {
  it('the split retries of incomplete answers go out in further simulate batches; every feature is scored', async () => {
    const store = openStore('batch-split.db');
    const explainer = createMockProvider({
      model: 'batch-explainer',
      capabilities: { batch: true },
      respond: () => textResult(' tokens like t.'),
    });
    const simulator = createMockProvider({
      model: 'batch-simulator',
      capabilities: { promptLogprobs: false, batch: true },
      respond: () => textResult(''),
    });
    // Asked for several records, the simulator answers only the last one; asked for one, it answers it.
    const simulatorBatches = inMemoryBatchClient(simulator.id, (request) => chatAnswer(targetsOf(request).slice(-1)));
    const explainerBatches = inMemoryBatchClient(explainer.id, () => textResult(' tokens like t.'));
    const summary = await runPipeline(
      { source, scorers, batch: true, batchPollMs: 1 },
      { store, explainer, simulator, batchClients: { explainer: explainerBatches, simulator: simulatorBatches } },
    );
    expect(summary).toMatchObject({ status: 'finished', scored: 4, skipped: 1, failed: 0 });
    expect(explainer.requests.length + simulator.requests.length).toBe(0); // no live call
    // 14 held-out records a feature: 1 call, then 2, 4, 8 and finally 14 calls of one record (some answered already).
    expect(simulatorBatches.submitted.length).toBeGreaterThan(1);
    expect(simulatorBatches.submitted[0]).toBe(4);
    const expected = store.db
      .prepare(
        'SELECT COUNT(*) AS n FROM simulations s JOIN explanations e ON e.id = s.explanation_id WHERE e.run_id = ?',
      )
      .get(summary.runId);
    expect(expected).toEqual({ n: 4 * 14 });
    store.db.close();
  });
});

describe('incomplete answers in runs (issue 13, item 3)', () => {
  it('every feature answered incompletely: retried with fewer records per call, then failed with the reason; exit code 2', async () => {
    const store = openStore('incomplete.db');
    const { explainer } = perfectProviders();
    const simulator = createMockProvider({
      model: 'half',
      capabilities: { promptLogprobs: false },
      respond: halfAnswer,
    });
    const summary = await runPipeline({ source, scorers }, { store, explainer, simulator });
    expect(summary).toMatchObject({ scored: 0, skipped: 1, failed: 4 });
    expect(simulator.requests.length).toBeGreaterThan(4); // the first calls, then their records split over more calls
    const failures = store.db
      .prepare("SELECT stage, reason FROM run_features WHERE run_id = ? AND status = 'failed'")
      .all(summary.runId) as { stage: string; reason: string }[];
    expect(failures).toHaveLength(4);
    for (const failure of failures) {
      expect(failure.stage).toBe('simulate');
      expect(failure.reason).toMatch(
        /mock:half answered record \d+ of \d+ incompletely \(mode chat-logprobs, one record a call\): \d+ of 8 predictions missing \(more than 10 %\)/,
      );
    }
    expect(
      store.db
        .prepare('SELECT COUNT(*) AS n FROM scores WHERE run_id = ? AND simulation_mode IS NOT NULL')
        .get(summary.runId),
    ).toEqual({ n: 0 });
    expect(runExitCode(summary)).toBe(2);
    store.db.close();
  });

  it('exit codes: a scored feature with some failures is 0; a stop by signal 130', () => {
    expect(runExitCode({ failed: 1, scored: 3 })).toBe(0);
    expect(runExitCode({ failed: 0, scored: 0 })).toBe(0);
    expect(runExitCode({ failed: 2, scored: 0 })).toBe(2);
    expect(runExitCode({ failed: 0, scored: 1, stoppedBy: 'signal' })).toBe(130);
  });
});

describe('autointerp run --records-per-call (CLI)', () => {
  const cli = (args: string[]) => runCli(args, { cwd: directory });

  it('a bad value is a usage error naming the flag; a good one is stored with the run and shown in the mode column', async () => {
    const bad = await cli(['run', '--demo', '--records-per-call', '0', '--db', join(directory, 'cli-bad.db')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--records-per-call expects a positive integer or "all", got "0"/);

    const db = join(directory, 'cli.db');
    const good = await cli([
      'run',
      '--demo',
      '--limit',
      '2',
      '--no-ablation',
      '--scorers',
      'correlation', // the simulation's scorer: the demo's judged and intervention scorers would add work this test is not about
      '--no-progress',
      '--records-per-call',
      '2',
      '--context-tokens',
      '100000',
      '--db',
      db,
    ]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/baseline · 2\/call/);
    const store = new ResultStore(openDatabase(db));
    const run = store.latestRun()!;
    expect(JSON.parse(run.config)).toMatchObject({ recordsPerCall: 2, contextTokens: 100_000 });
    expect(
      store.db.prepare('SELECT DISTINCT records_per_call AS n FROM scores WHERE simulation_mode IS NOT NULL').all(),
    ).toEqual([{ n: 2 }]);
    store.db.close();
  });
});
