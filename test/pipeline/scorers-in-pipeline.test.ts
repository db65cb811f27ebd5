/**
 * Issue 16: runs go through the Scorer contract (score/scorer.ts). Selection (`scorers`, `all`, unknown names),
 * each scorer's rows stored with its prompt version, a judged scorer's answers in `judgements` and its LLM calls
 * logged under its name, a scorer that throws failing the feature (and a resume retrying it), null rows of every
 * selected scorer's kinds for a skipped feature, a per-feature seed, and the stored selection kept by a resume.
 * Test scorers are passed to runPipeline as the registry to select from (`options.scorers`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/common/errors.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { createPriceTable } from '../../src/llm/price-table.ts';
import { buildProviders, judgeIsSimulator, requireBudgetPrices } from '../../src/pipeline/build-providers.ts';
import { parsePipelineConfig } from '../../src/pipeline/config.ts';
import { resolveRunConfig } from '../../src/pipeline/resolve-run-config.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { scorerSeed } from '../../src/pipeline/run-scorers.ts';
import { selectScorers } from '../../src/pipeline/select-scorers.ts';
import { correlationScorer } from '../../src/score/correlation/correlation-scorer.ts';
import type { Judgement, Scorer } from '../../src/score/scorer.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { createBaselineRun } from '../helpers/baseline-run.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { perfectProviders, testPrompts } from '../helpers/pipeline-mocks.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-scorers-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const source = writeFeaturesJsonl(join(directory, 'three.jsonl'), syntheticFeatures(3));
let databases = 0;
const openStore = () => new ResultStore(openDatabase(join(directory, `run-${++databases}.db`)));

/** A judged scorer: asks the judge once per feature, scores 1 when it answers "yes", keeps the answer as a judgement. */
const judgedScorer: Scorer = {
  name: 'judged',
  description: 'test: asks the judge',
  needs: { judge: true },
  kinds: ['judged.accuracy', 'judged.answers'],
  async score(input, context) {
    const answer = await context.judge!.complete({
      messages: [{ role: 'user', content: `Does "${input.explanation}" fit? seed ${input.seed}` }],
      maxTokens: 1,
    });
    const yes = answer.text.trim() === 'yes';
    const judgement: Judgement = {
      tokens: ['a', 'b'],
      source: 'random-negative',
      truth: true,
      predicted: yes,
      probability: null,
    };
    return {
      scores: [
        { kind: 'judged.accuracy', value: yes ? 1 : 0, reason: null, nTokens: 2, nMissing: 0 },
        { kind: 'judged.answers', value: 1, reason: null, nTokens: 2, nMissing: 0 },
      ],
      promptVersion: 'judged.v1',
      judgements: [judgement],
    };
  },
};

/** Gives no rows (says why once per feature model). */
const absentScorer: Scorer = {
  name: 'absent',
  description: 'test: never serves a feature',
  needs: {},
  kinds: ['absent.all'],
  async score(input, context) {
    context.note(`no absent for ${input.feature.id.model}`);
    return null;
  },
};

/** Throws for feature 1 while `failing` is set. */
let failing = true;
const flakyScorer: Scorer = {
  name: 'flaky',
  description: 'test: throws for feature 1',
  needs: { simulation: true },
  kinds: ['flaky.all'],
  async score(input) {
    if (failing && input.feature.id.index === 1) throw new Error('the judge fell over');
    return {
      scores: [{ kind: 'flaky.all', value: input.simulation!.records.length, reason: null, nTokens: 1, nMissing: 0 }],
      promptVersion: null,
    };
  },
};

const registry: readonly Scorer[] = [correlationScorer, judgedScorer, absentScorer, flakyScorer];

const yesJudge = () => createMockProvider({ model: 'judge', respond: () => textResult('yes') });

function rowsOf(store: ResultStore, runId: number, sql: string) {
  return store.db.prepare(sql).all(runId) as Record<string, unknown>[];
}

describe('selecting scorers', () => {
  const all = [correlationScorer, judgedScorer, { ...absentScorer, name: 'ablation' }];

  it('takes the named ones in registry order, every one by default or with all, without ablation under --no-ablation', () => {
    const names = (scorers: readonly Scorer[]) => scorers.map((scorer) => scorer.name);
    expect(names(selectScorers({ scorers: ['judged', 'correlation'], ablation: true }, all))).toEqual([
      'correlation',
      'judged',
    ]);
    expect(names(selectScorers({ ablation: true }, all))).toEqual(['correlation', 'judged', 'ablation']);
    expect(names(selectScorers({ scorers: ['all'], ablation: true }, all))).toEqual([
      'correlation',
      'judged',
      'ablation',
    ]);
    expect(names(selectScorers({ ablation: false }, all))).toEqual(['correlation', 'judged']);
  });

  it('refuses unknown names, listing the known ones, and ablation named while turned off', () => {
    expect(() => selectScorers({ scorers: ['correlation', 'detektion'], ablation: true }, all)).toThrow(
      new InputError('--scorers: unknown scorer "detektion"; known: correlation, judged, ablation (or all)'),
    );
    expect(() => selectScorers({ scorers: ['ablation'], ablation: false }, all)).toThrow(/--no-ablation/);
  });

  it('a run with an unknown scorer fails before anything is written', async () => {
    const { explainer, simulator } = perfectProviders();
    const path = join(directory, 'never.db');
    await expect(
      runPipeline(
        { source, scorers: ['nope'], ...testPrompts },
        { store: () => new ResultStore(openDatabase(path)), explainer, simulator, scorers: registry },
      ),
    ).rejects.toThrow(/unknown scorer "nope"; known: correlation, judged, absent, flaky/);
    expect(explainer.requests).toHaveLength(0);
  });

  it('a run stored before scorers were selectable resumes with correlation and ablation (or correlation alone)', () => {
    const store = openStore();
    const create = (config: object) => createBaselineRun(store, { name: 'old', config });
    const legacy = create({ source: 'demo' });
    expect(resolveRunConfig(store, { resumeRunId: legacy }, undefined).config.scorers).toEqual([
      'correlation',
      'ablation',
    ]);
    const noAblation = create({ source: 'demo', ablation: false });
    expect(resolveRunConfig(store, { resumeRunId: noAblation }, undefined).config.scorers).toEqual(['correlation']);
    const selected = create({ source: 'demo', scorers: ['judged'] });
    expect(resolveRunConfig(store, { resumeRunId: selected }, undefined).config.scorers).toEqual(['judged']);
    store.db.close();
  });
});

describe('the judge', () => {
  it('is the simulator unless --judge names another provider, which is built like the simulator', () => {
    const same = buildProviders(parsePipelineConfig({ simulator: 'baseline' }), {}, undefined);
    expect(same.judge).toBe(same.simulator);
    expect(judgeIsSimulator({ simulator: 'baseline', judge: 'baseline' })).toBe(true);
    const config = parsePipelineConfig({
      simulator: 'baseline',
      judge: 'openai-compatible:judge-model',
      baseUrl: 'http://127.0.0.1:9/v1',
    });
    const other = buildProviders(config, {}, undefined);
    expect(other.judge).not.toBe(other.simulator);
    expect(other.judge.id).toBe('openai-compatible:judge-model');
    // A budget needs the judge's price too.
    const priced = createMockProvider({ model: 'priced', respond: () => textResult('x') });
    const prices = createPriceTable({ 'mock:priced': { inputPerMillion: 1, outputPerMillion: 1 } });
    expect(() =>
      requireBudgetPrices(parsePipelineConfig({ maxCostUsd: 1 }), prices, {
        explainer: priced,
        simulator: priced,
        judge: yesJudge(),
      }),
    ).toThrow('--max-cost needs a price for mock:judge');
    // An injected simulator is the judge when none is given, whatever the stored spec says.
    const simulator = yesJudge();
    expect(buildProviders(parsePipelineConfig({}), { simulator }, undefined).judge).toBe(simulator);
  });
});

describe('scorers in a run', () => {
  it('stores each scorer’s rows with its prompt version, the judge’s answers, and logs its calls under its name', async () => {
    const store = openStore();
    const { explainer, simulator } = perfectProviders();
    const judge = yesJudge();
    const summary = await runPipeline(
      { source, scorers: ['correlation', 'judged', 'absent'], ...testPrompts },
      { store, explainer, simulator, judge, scorers: registry },
    );
    expect(summary).toMatchObject({ status: 'finished', scored: 3, skipped: 1, failed: 0 });
    expect(summary.notes).toEqual(['no absent for synthetic']);
    expect(judge.requests).toHaveLength(3);
    expect(simulator.requests).toHaveLength(3);
    const scores = rowsOf(
      store,
      summary.runId,
      `SELECT f.idx, s.kind, s.value, s.reason, s.prompt_version AS promptVersion, s.simulation_mode AS mode
       FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? ORDER BY f.idx, s.kind`,
    );
    // Every kind of every selected scorer; on a live feature the absent scorer only notes why it wrote no row.
    const selectedKinds = [
      'absdev.all',
      'absent.all',
      'correlation.all',
      'correlation.random',
      'correlation.top',
      'judged.accuracy',
      'judged.answers',
      'rsquared.all',
    ];
    const feature0 = scores.filter((row) => row.idx === 0);
    expect(feature0.map((row) => row.kind)).toEqual(selectedKinds.filter((kind) => kind !== 'absent.all'));
    expect(feature0.find((row) => row.kind === 'judged.accuracy')).toMatchObject({
      value: 1,
      promptVersion: 'judged.v1',
      mode: null, // the judged scorer did not read the simulation
    });
    expect(feature0.find((row) => row.kind === 'correlation.all')).toMatchObject({
      promptVersion: null,
      mode: 'prompt-logprobs',
    });
    // The skipped (dead) feature: a null row with the reason for every kind of every selected scorer.
    expect(scores.filter((row) => row.idx === 3).map((row) => [row.kind, row.value, row.reason])).toEqual(
      selectedKinds.map((kind) => [kind, null, 'feature never activates (max activation ≤ 0 in its top records)']),
    );
    const judgements = rowsOf(
      store,
      summary.runId,
      `SELECT f.idx, j.scorer, j.judge, j.prompt_version AS promptVersion, j.examples
       FROM judgements j JOIN features f ON f.id = j.feature_id WHERE j.run_id = ? ORDER BY f.idx`,
    );
    expect(judgements).toHaveLength(3);
    expect(judgements[0]).toMatchObject({ idx: 0, scorer: 'judged', judge: 'mock:judge', promptVersion: 'judged.v1' });
    expect(JSON.parse(judgements[0]!.examples as string)).toEqual([
      { tokens: ['a', 'b'], source: 'random-negative', truth: true, predicted: true, probability: null },
    ]);
    const calls = rowsOf(
      store,
      summary.runId,
      'SELECT purpose, provider, COUNT(*) AS n FROM llm_calls WHERE run_id = ? GROUP BY purpose, provider ORDER BY purpose',
    );
    expect(calls).toEqual([
      { purpose: 'explain', provider: 'mock:explainer', n: 3 },
      { purpose: 'judged', provider: 'mock:judge', n: 3 },
      { purpose: 'simulate', provider: 'mock:simulator', n: 3 },
    ]);
    // The run records its selection and its judge (the simulator's spec when none was given).
    const config = JSON.parse(store.getRun(summary.runId)!.config) as { scorers: string[]; judge: string };
    expect(config.scorers).toEqual(['correlation', 'judged', 'absent']);
    expect(config.judge).toBe('baseline');
    store.db.close();
  });

  it('without a simulation scorer nothing is simulated; the judge defaults to the simulator; seeds are per feature', async () => {
    const store = openStore();
    const simulator = yesJudge();
    const { explainer } = perfectProviders();
    const summary = await runPipeline(
      { source, scorers: ['judged'], ...testPrompts },
      { store, explainer, simulator, scorers: registry },
    );
    expect(summary).toMatchObject({ scored: 3, failed: 0 });
    expect(simulator.requests).toHaveLength(3); // the judge's three requests; no simulation
    expect(
      rowsOf(
        store,
        summary.runId,
        'SELECT s.id FROM simulations s JOIN explanations e ON e.id = s.explanation_id WHERE e.run_id = ?',
      ),
    ).toEqual([]);
    const features = syntheticFeatures(3, { dead: false });
    const seeds = features.map((feature) => scorerSeed(feature, 1));
    expect(new Set(seeds).size).toBe(3);
    expect(scorerSeed(features[0]!, 1)).toBe(seeds[0]);
    expect(scorerSeed(features[0]!, 2)).not.toBe(seeds[0]);
    const asked = simulator.requests.map((request) => request.messages![0]!.content);
    for (const seed of seeds) expect(asked.some((content) => content.endsWith(`seed ${seed}`))).toBe(true);
    store.db.close();
  });

  it('a scorer that throws fails its feature at the score stage, named in the reason; a resume retries it', async () => {
    failing = true;
    const store = openStore();
    const { explainer, simulator } = perfectProviders();
    const first = await runPipeline(
      { source, scorers: ['correlation', 'flaky'], ...testPrompts },
      { store, explainer, simulator, scorers: registry },
    );
    expect(first).toMatchObject({ scored: 2, skipped: 1, failed: 1 });
    const failures = rowsOf(
      store,
      first.runId,
      `SELECT f.idx, r.stage, r.reason FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ? AND r.status = 'failed'`,
    );
    expect(failures).toEqual([{ idx: 1, stage: 'score', reason: 'flaky: the judge fell over' }]);
    // Nothing of the failed feature's scores is stored.
    expect(
      rowsOf(
        store,
        first.runId,
        'SELECT s.kind FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? AND f.idx = 1',
      ),
    ).toEqual([]);

    failing = false;
    const resumed = await runPipeline(undefined, {
      store,
      resumeRunId: first.runId,
      explainer,
      simulator,
      scorers: registry,
    });
    expect(resumed).toMatchObject({ status: 'finished', scored: 3, failed: 0, processedNow: 1 });
    // The resume ran the stored selection: the retried feature has the flaky scorer's row.
    expect(
      rowsOf(
        store,
        first.runId,
        `SELECT s.kind, s.value FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? AND f.idx = 1 AND s.kind = 'flaky.all'`,
      ),
    ).toEqual([{ kind: 'flaky.all', value: expect.any(Number) }]);
    store.db.close();
  });
});
