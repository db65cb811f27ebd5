/**
 * Issue 17: best-of-n explanations chosen on the calibration split and reported on the score split. On the demo's
 * planted features, offline (baseline simulator): a fake explainer whose candidates are of mixed quality (the
 * ground truth's true explanation, a part of it, or its wrong one) makes best-of-n beat one-shot on held-out records,
 * the run summary reports the selection bias, and choosing on the score split instead flatters the score split. The
 * baseline explainer varies when sampled. Revision with a fake explainer that fixes its explanation when shown its
 * mistakes, and with one that never does (no revision kept, calls bounded). One-shot runs store no candidates;
 * a revision prompt stays within the token bound batch mode's budget admits it by (best-of-n and revision in batch
 * mode: best-of-n-fake-server.test.ts); a repeated search is answered by the response cache (a resume pays nothing
 * twice).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/common/errors.ts';
import { compareRuns } from '../../src/report/compare.ts';
import { formatComparisonText } from '../../src/report/format-compare.ts';
import { buildRevisePrompt } from '../../src/explain/build-revise-prompt.ts';
import { contrastWindows } from '../../src/explain/contrast-windows.ts';
import { loadExplainTemplate } from '../../src/explain/explain-template.ts';
import { flattenConversation } from '../../src/llm/baseline/conversation-text.ts';
import { parseNeuronBlocks } from '../../src/llm/baseline/prompt-structure.ts';
import { respondToRequest } from '../../src/llm/baseline/rule-based-model.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { createMemoryResponseCache, withCache } from '../../src/llm/response-cache.ts';
import { createBaselineProvider } from '../../src/llm/baseline/baseline-provider.ts';
import { getEncoder } from '../../src/llm/token-counter.ts';
import type { LlmRequest, Provider } from '../../src/llm/types.ts';
import { demoPlantedPath, parsePipelineConfig } from '../../src/pipeline/config.ts';
import { buildExplainPrompt } from '../../src/explain/build-explain-prompt.ts';
import { searchExplanation, selectBest } from '../../src/pipeline/explanation-search.ts';
import { revisePromptTokenBound } from '../../src/pipeline/revise-prompt-bound.ts';
import { loadReviseTemplate } from '../../src/explain/revise-template.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { featureKey } from '../../src/records/feature-key.ts';
import { splitFeatureRecords } from '../../src/records/splits.ts';
import type { FeatureRecord, SplitRecord } from '../../src/records/types.ts';
import { correlationWithReason } from '../../src/score/correlation.ts';
import { simulateFeature } from '../../src/pipeline/simulate-feature.ts';
import { loadSimulateTemplate } from '../../src/simulate/simulate-template.ts';
import { openDatabase } from '../../src/store/database.ts';
import { cli } from '../helpers/run-cli.ts';
import { type LlmCallRow, ResultStore } from '../../src/store/result-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-best-of-n-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface Truth {
  feature: FeatureRecord['id'];
  explanation: string;
  wrongExplanation: string;
}
const truths = JSON.parse(
  readFileSync(new URL('../../data/demo/ground-truth.json', import.meta.url), 'utf8'),
) as Truth[];
const truthOf = new Map(truths.map((truth) => [featureKey(truth.feature), truth]));
const planted = readFileSync(demoPlantedPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as FeatureRecord);

/** Planted features that fire, whose wrong explanations are all different (so a revision prompt names its feature). */
const chosen = (() => {
  const seenWrong = new Set<string>();
  return planted
    .filter((feature) => {
      const truth = truthOf.get(featureKey(feature.id))!;
      if (truth.explanation.startsWith('nothing') || seenWrong.has(truth.wrongExplanation)) return false;
      seenWrong.add(truth.wrongExplanation);
      return true;
    })
    .slice(0, 8); // enough to see the effects, few enough to stay quick
})();
const source = join(directory, 'planted.jsonl');
writeFileSync(source, `${chosen.map((feature) => JSON.stringify(feature)).join('\n')}\n`);
/** The first four: enough for best-of-4 against one-shot, where every candidate of every feature is simulated. */
const firstFour = chosen.slice(0, 4);
const firstFourSource = join(directory, 'planted-4.jsonl');
writeFileSync(firstFourSource, `${firstFour.map((feature) => JSON.stringify(feature)).join('\n')}\n`);

/** The feature an explain prompt shows: the one whose top records its last neuron block holds (by vote). */
const featureOfRecords = new Map<string, string>();
for (const feature of planted) {
  for (const record of feature.top) featureOfRecords.set(record.tokens.join(''), featureKey(feature.id));
}
function featureOfExplainPrompt(request: LlmRequest): Truth {
  const votes = new Map<string, number>();
  for (const record of parseNeuronBlocks(flattenConversation(request.messages ?? [])).at(-1)?.records ?? []) {
    const key = featureOfRecords.get(record.lines.map((line) => line.token).join(''));
    if (key) votes.set(key, (votes.get(key) ?? 0) + 1);
  }
  const [key] = [...votes].reduce((a, b) => (b[1] > a[1] ? b : a));
  return truthOf.get(key)!;
}
const isRevision = (request: LlmRequest) =>
  (request.messages ?? []).some((message) => message.content.includes('Current explanation:'));
/** The feature a revision prompt is about: the one whose wrong (or, once fixed, true) explanation it shows. */
const featureOfRevision = (request: LlmRequest): Truth => {
  const shows = (text: string) =>
    (request.messages ?? []).some((m) =>
      m.content.includes(`Current explanation: the main thing this neuron does is find ${text}.`),
    );
  return truths.find((truth) => shows(truth.wrongExplanation)) ?? truths.find((truth) => shows(truth.explanation))!;
};

/**
 * Candidates of mixed quality: the one-shot candidate (sample 0) is wrong for every other feature; sample i ≥ 1 is
 * the true explanation (i % 3 = 1), its first part only (i % 3 = 2) or the wrong one (i % 3 = 0).
 */
const mixedExplainer = () =>
  createMockProvider({
    model: 'mixed',
    respond(request) {
      const truth = featureOfExplainPrompt(request);
      const sample = request.sampleIndex ?? 0;
      if (sample === 0) {
        const position = chosen.findIndex((feature) => featureKey(feature.id) === featureKey(truth.feature));
        return textResult(` ${position % 2 === 0 ? truth.wrongExplanation : truth.explanation}.`);
      }
      const kind = sample % 3;
      const text =
        kind === 1 ? truth.explanation : kind === 2 ? truth.explanation.split(/[,:]/)[0]! : truth.wrongExplanation;
      return textResult(` ${text}.`);
    },
  });

/** Correlation of `explanation`'s baseline simulation on the feature's records that no split of a run uses. */
const freshScores = new Map<string, Promise<number>>();
function freshScore(feature: FeatureRecord, explanation: string): Promise<number> {
  // Memoized: the simulation is deterministic, and the two choices of a feature are often the same text.
  const key = `${featureKey(feature.id)}\n${explanation}`;
  let score = freshScores.get(key);
  if (!score) freshScores.set(key, (score = simulateFreshScore(feature, explanation)));
  return score;
}
async function simulateFreshScore(feature: FeatureRecord, explanation: string): Promise<number> {
  const config = parsePipelineConfig({});
  const used = new Set(splitFeatureRecords(feature, config).map((s) => s.record.tokens.join('')));
  const fresh: SplitRecord[] = [...feature.top, ...feature.random]
    .filter((record) => !used.has(record.tokens.join('')))
    .map((record) => ({ split: 'score', source: 'top', record }));
  const encoder = await getEncoder();
  const run = await simulateFeature(createBaselineProvider(), explanation, fresh, {
    config,
    template: loadSimulateTemplate(),
    countTokens: (text) => encoder.encode(text, 'all').length,
  });
  return (
    correlationWithReason(
      fresh.map((s) => s.record.activations),
      run.result.records.map((r) => [...r.expected]),
    ).value ?? 0
  );
}

let databases = 0;
const newStore = () => new ResultStore(openDatabase(join(directory, `run-${++databases}.db`)));

async function run(
  options: {
    explanations?: number;
    revise?: number;
    scoreAllCandidates?: boolean;
    explainNegatives?: number;
    source?: string;
  },
  explainer: Provider | 'baseline' = mixedExplainer(),
  store = newStore(),
) {
  const summary = await runPipeline(
    { source, scorers: ['correlation'], ablation: false, ...options },
    { store, ...(explainer === 'baseline' ? {} : { explainer }) },
  );
  const heldOut = store.db
    .prepare(`SELECT AVG(value) AS mean FROM scores WHERE run_id = ? AND kind = 'correlation.all'`)
    .get(summary.runId) as { mean: number };
  const candidates = store.db
    .prepare(
      `SELECT f.model || '/' || f.layer || '/' || f.idx AS feature, c.* FROM explanation_candidates c
         JOIN features f ON f.id = c.feature_id WHERE c.run_id = ? ORDER BY c.feature_id, c.candidate`,
    )
    .all(summary.runId) as {
    feature: string;
    candidate: number;
    parent: number | null;
    kind: string;
    text: string;
    calibration_score: number | null;
    held_out_score: number | null;
    selected: number;
  }[];
  return { store, summary, heldOut: heldOut.mean, candidates, explainer };
}

describe('best-of-n explanations (issue 17)', () => {
  it('chosen on calibration, best-of-4 beats one-shot held out; the summary reports the selection bias', async () => {
    // On the first four features (half of them, the one-shot candidate is wrong): one-shot 0.46 held out, best-of-4
    // 0.98, against the 0.1 asked (the mock explainer and the baseline simulator are deterministic).
    const oneShot = await run({ source: firstFourSource });
    const bestOf4 = await run({ explanations: 4, source: firstFourSource }, mixedExplainer(), oneShot.store);
    expect(oneShot.candidates).toEqual([]); // one-shot runs store no candidates
    expect(oneShot.summary.selection).toBeUndefined();
    expect(bestOf4.summary.scored).toBe(firstFour.length);
    expect(bestOf4.heldOut).toBeGreaterThan(oneShot.heldOut + 0.1);
    // Four candidates per feature, one selected, and it is the feature's `explanations` row.
    expect(bestOf4.candidates.length).toBe(4 * firstFour.length);
    const explanations = bestOf4.store.db
      .prepare('SELECT text FROM explanations WHERE run_id = ? ORDER BY feature_id')
      .all(bestOf4.summary.runId) as { text: string }[];
    expect(bestOf4.candidates.filter((c) => c.selected === 1).map((c) => c.text)).toEqual(
      explanations.map((row) => row.text),
    );
    const selection = bestOf4.summary.selection!;
    expect(selection.features).toBe(firstFour.length);
    expect(selection.candidatesPerFeature).toBe(4);
    expect(selection.selectionBias).toBeCloseTo(selection.meanCalibration - selection.meanHeldOut, 10);
    // Explain calls: 4 per feature; simulate calls: at most 4 on calibration (identical texts once) + 1 held out.
    const purposes = bestOf4.store.db
      .prepare(`SELECT purpose, COUNT(*) AS n FROM llm_calls WHERE run_id = ? GROUP BY purpose`)
      .all(bestOf4.summary.runId) as { purpose: string; n: number }[];
    expect(purposes.find((p) => p.purpose === 'explain')!.n).toBe(4 * firstFour.length);
    expect(purposes.find((p) => p.purpose === 'simulate')!.n).toBeLessThanOrEqual(5 * firstFour.length);
    // compare pairs the two runs: the uplift, and the price of each per feature.
    const comparison = compareRuns(
      oneShot.store.db,
      oneShot.store.getRun(oneShot.summary.runId)!,
      bestOf4.store.getRun(bestOf4.summary.runId)!,
    );
    expect(comparison.overall.meanDifference).toBeGreaterThan(0.1);
    expect(comparison.baseline.costPerFeature.calls).toBe(2);
    expect(comparison.candidate.costPerFeature.calls).toBeGreaterThan(4);
    expect(formatComparisonText(comparison)).toMatch(
      /cost per feature: baseline 2\.0 calls, [\d,]+ prompt tokens.* · candidate \d+\.\d calls/,
    );
  });

  it('choosing on the score split instead would flatter the score split (the split discipline keeps it honest)', async () => {
    // The baseline explainer's samples (token subsets) are close in quality: which one looks best is partly noise.
    const { candidates, heldOut } = await run({ explanations: 4, scoreAllCandidates: true }, 'baseline');
    const byFeature = new Map<string, typeof candidates>();
    for (const c of candidates) byFeature.set(c.feature, [...(byFeature.get(c.feature) ?? []), c]);
    const scoreOf = (value: number | null) => value ?? Number.NEGATIVE_INFINITY; // undefined: never chosen
    let honest = 0;
    let honestOverFresh = 0;
    let chosenOnScoreOverFresh = 0;
    for (const [key, group] of byFeature) {
      expect(group.some((c) => c.held_out_score !== null)).toBe(true); // every candidate was simulated held out
      const winner = group.find((c) => c.selected === 1)!;
      // Scoring every candidate held out changes nothing about the choice: still the best on calibration, earliest on ties.
      const onCalibration = group.reduce((best, c) =>
        scoreOf(c.calibration_score) > scoreOf(best.calibration_score) ? c : best,
      );
      expect(winner.candidate).toBe(onCalibration.candidate);
      const onScore = group.reduce((best, c) => (scoreOf(c.held_out_score) > scoreOf(best.held_out_score) ? c : best));
      // Fresh records (in no split of the run) measure both choices without either having seen them.
      const feature = chosen.find((f) => `${f.id.model}/${f.id.layer}/${f.id.index}` === key)!;
      honest += winner.held_out_score!;
      honestOverFresh += winner.held_out_score! - (await freshScore(feature, winner.text));
      chosenOnScoreOverFresh += onScore.held_out_score! - (await freshScore(feature, onScore.text));
    }
    const n = byFeature.size;
    expect(honest / n).toBeCloseTo(heldOut, 10); // the reported score is the calibration-chosen winner's
    // Reported on the split it was chosen on, the score overstates what fresh records show; chosen elsewhere, it does not.
    expect(chosenOnScoreOverFresh / n).toBeGreaterThan(honestOverFresh / n);
  });

  it('a revision that fixes the explanation from its mistakes is kept, with its parent', async () => {
    const fixer = createMockProvider({
      model: 'fixer',
      respond: (request) =>
        textResult(
          isRevision(request)
            ? ` ${featureOfRevision(request).explanation}.`
            : ` ${featureOfExplainPrompt(request).wrongExplanation}.`,
        ),
    });
    const oneShotWrong = await run(
      {},
      createMockProvider({
        respond: (request) => textResult(` ${featureOfExplainPrompt(request).wrongExplanation}.`),
      }),
    );
    const revised = await run({ revise: 2 }, fixer);
    const revisions = revised.candidates.filter((c) => c.kind === 'revision');
    expect(revisions.length).toBeGreaterThan(0);
    expect(revisions.every((c) => c.parent !== null)).toBe(true);
    const kept = revisions.filter((c) => c.selected === 1);
    expect(revised.summary.failed).toBe(0);
    expect(kept.length).toBe(chosen.length); // every feature's explanation was fixed by its first revision
    for (const revision of kept)
      expect(revision.calibration_score!).toBeGreaterThan(
        revised.candidates.find((c) => c.feature === revision.feature && c.candidate === revision.parent)!
          .calibration_score ?? -1,
      );
    expect(revised.heldOut).toBeGreaterThan(oneShotWrong.heldOut + 0.1);
  });

  it('a revision after an unreadable sample gets an index of its own: one winner per feature, nothing fails', async () => {
    const gappy = createMockProvider({
      model: 'gappy',
      respond: (request) =>
        textResult(
          isRevision(request)
            ? ` ${featureOfRevision(request).explanation}.`
            : request.sampleIndex === 1
              ? ''
              : ` ${featureOfExplainPrompt(request).wrongExplanation}.`,
        ),
    });
    const { candidates, summary } = await run({ explanations: 3, revise: 1 }, gappy);
    expect(summary.failed).toBe(0);
    for (const feature of new Set(candidates.map((c) => c.feature))) {
      const own = candidates.filter((c) => c.feature === feature);
      expect(new Set(own.map((c) => c.candidate)).size).toBe(own.length);
      expect(own.filter((c) => c.selected === 1).length).toBe(1);
      expect(own.find((c) => c.kind === 'revision')?.candidate).toBe(3); // after samples 0, (1 unreadable), 2
    }
  });

  it('a revision that never helps is never kept, and the explainer is asked at most 1 + K times per feature', async () => {
    const stubborn = createMockProvider({
      model: 'stubborn',
      respond: (request) =>
        textResult(isRevision(request) ? ' the letter "q".' : ` ${featureOfExplainPrompt(request).wrongExplanation}.`),
    });
    const { candidates, summary } = await run({ revise: 3 }, stubborn);
    expect(candidates.filter((c) => c.kind === 'revision' && c.selected === 1)).toEqual([]);
    expect(candidates.filter((c) => c.kind === 'sample').every((c) => c.selected === 1)).toBe(true);
    expect(stubborn.requests.length).toBeLessThanOrEqual((1 + 3) * chosen.length);
    expect(stubborn.requests.filter(isRevision).length).toBeGreaterThan(0);
    expect(summary.scored).toBe(chosen.length);
  });

  it('the baseline explainer names varied token subsets when sampled, the same answer at temperature 0', async () => {
    const prompt = buildExplainPrompt(chosen[0]!.top.slice(0, 10));
    const answer = async (temperature: number, sampleIndex?: number) =>
      (
        await respondToRequest({
          messages: prompt.messages,
          maxTokens: 80,
          temperature,
          ...(sampleIndex !== undefined ? { sampleIndex } : {}),
        })
      ).text;
    const deterministic = await answer(0);
    expect(await answer(0, 3)).toBe(deterministic);
    const samples = new Set(await Promise.all([1, 2, 3, 4, 5].map((index) => answer(1, index))));
    expect(samples.size).toBeGreaterThanOrEqual(3);
  });

  it('the baseline answers a revision prompt by dropping what was over-predicted and naming what was missed', async () => {
    const prompt = buildRevisePrompt(
      'the tokens "cat" and "dog"',
      [{ tokens: ['a', ' cat', ' and', ' dog', ' bird'], activations: [0, 0, 0, 5, 10], expected: [0, 9, 0, 5, 0] }],
      10,
    );
    expect(prompt.mistakesShown).toBe(2);
    const revised = await respondToRequest({ messages: prompt.messages, maxTokens: 80 });
    expect(revised.text).toBe(' the tokens "bird" and "dog".');
  });

  it('a repeated search (a resumed run) asks the same requests: the response cache answers every one', async () => {
    const counted: LlmRequest[] = [];
    const baseline = createBaselineProvider();
    const counting = {
      ...baseline,
      complete: (request: LlmRequest) => (counted.push(request), baseline.complete(request)),
    };
    const cache = createMemoryResponseCache();
    const provider = withCache(counting, cache, { isCacheable: () => true });
    const encoder = await getEncoder();
    const config = parsePipelineConfig({ explanations: 4, revise: 2 });
    const feature = chosen[1]!;
    const splits = splitFeatureRecords(feature, config);
    const context = {
      config,
      explainer: provider,
      simulator: provider,
      explainTemplate: loadExplainTemplate(),
      simulateTemplate: loadSimulateTemplate(),
      countTokens: (text: string) => encoder.encode(text, 'all').length,
    };
    const first = await searchExplanation(feature, splits, context, []);
    const paid = counted.length;
    const secondCalls: LlmCallRow[] = [];
    const second = await searchExplanation(feature, splits, context, secondCalls);
    expect(counted.length).toBe(paid);
    expect(secondCalls.every((call) => call.cached)).toBe(true);
    expect(second).toEqual(first);
    expect(new Set(first.candidates.map((c) => c.text)).size).toBeGreaterThan(1); // the samples differ
  });

  it('contrast windows: a top token where nothing fires, cut from the records given, distinct, at most K', () => {
    const fires = { tokens: ['a', ' cat', ' sat', ' on', ' the', ' cat'], activations: [0, 9, 0, 0, 0, 8] };
    const silent = {
      tokens: Array.from({ length: 30 }, (_, i) => (i === 12 || i === 25 ? ' cat' : ` w${i}`)),
      activations: Array.from({ length: 30 }, () => 0),
    };
    const windows = contrastWindows([fires, silent], 5);
    expect(windows.map((w) => w.tokens.length)).toEqual([9, 9]); // ±4 around positions 12 and 25
    expect(windows.every((w) => w.tokens.includes(' cat') && w.activations.every((a) => a === 0))).toBe(true);
    expect(contrastWindows([fires, silent], 1)).toHaveLength(1);
    expect(contrastWindows([fires, silent], 0)).toEqual([]);
  });

  it('--explain-negatives: the explain prompt shows contrast windows from the explain split only', async () => {
    // Layer 2 holds the context-dependent planted features ("past-tense verbs after pronouns", "prepositions after
    // nouns"): their top tokens also occur where they do not fire.
    const contextSource = join(directory, 'layer-2.jsonl');
    writeFileSync(
      contextSource,
      `${planted
        .filter((feature) => feature.id.layer === 2)
        .map((feature) => JSON.stringify(feature))
        .join('\n')}\n`,
    );
    const shown = async (explainNegatives: number) => {
      const explainer = createMockProvider({
        respond: (request) => textResult(` ${featureOfExplainPrompt(request).explanation}.`),
      });
      await run({ explainNegatives, source: contextSource }, explainer);
      return explainer.requests.map((request) => {
        const truth = featureOfExplainPrompt(request);
        const feature = planted.find((f) => featureKey(f.id) === featureKey(truth.feature))!;
        const records = parseNeuronBlocks(flattenConversation(request.messages ?? [])).at(-1)!.records;
        return { feature, texts: records.map((record) => record.lines.map((line) => line.token).join('')) };
      });
    };
    const without = await shown(0);
    const withNegatives = await shown(3);
    let added = 0;
    for (const { feature, texts } of withNegatives) {
      const plain = without.find((entry) => entry.feature === feature)!.texts;
      expect(texts.slice(0, plain.length)).toEqual(plain);
      const extra = texts.slice(plain.length);
      expect(extra.length).toBeLessThanOrEqual(3);
      added += extra.length;
      // Each window is cut from an explain-split record, never from a calibration or score one.
      const explainTexts = splitFeatureRecords(feature, parsePipelineConfig({}))
        .filter((s) => s.split === 'explain')
        .map((s) => s.record.tokens.join(''));
      for (const window of extra) expect(explainTexts.some((text) => text.includes(window))).toBe(true);
    }
    expect(added).toBeGreaterThan(0);
  });

  it('a revision prompt never has more tokens than the bound batch mode admits it by (counted from the prompt builder)', async () => {
    const encoder = await getEncoder();
    const countTokens = (text: string) => encoder.encode(text, 'all').length;
    const tokensOf = (messages: { content: string }[]) =>
      messages.reduce((sum, message) => sum + 4 + countTokens(message.content), 0);
    const template = loadReviseTemplate();
    const longest = Array.from({ length: 80 }, () => 'word').join(' ');
    let checked = 0;
    for (const feature of chosen) {
      const calibration = splitFeatureRecords(feature, parsePipelineConfig({}))
        .filter((split) => split.split === 'calibration')
        .map((split) => split.record);
      const bound = revisePromptTokenBound(calibration, longest, template, countTokens);
      // Worst cases: every token a mistake (predicted 10 where silent, 0 where it fired), and the reverse.
      for (const wrong of [(a: number) => (a > 0 ? 0 : 10), (a: number) => (a > 0 ? 1 : 9)]) {
        const scale = Math.max(...calibration.flatMap((record) => record.activations));
        const simulated = calibration.map((record) => ({
          tokens: record.tokens,
          activations: record.activations,
          expected: record.activations.map(wrong),
        }));
        const prompt = buildRevisePrompt(longest, simulated, scale, template);
        expect(prompt.mistakesShown).toBeGreaterThan(0);
        expect(tokensOf(prompt.messages)).toBeLessThanOrEqual(bound);
        checked++;
      }
    }
    expect(checked).toBe(2 * chosen.length);
  });

  it('selectBest: the highest calibration score, undefined last, the earliest on ties', () => {
    expect(
      selectBest([
        { index: 0, calibrationScore: 0.5 },
        { index: 1, calibrationScore: null },
        { index: 2, calibrationScore: 0.5 },
      ]).index,
    ).toBe(0);
    expect(
      selectBest([
        { index: 0, calibrationScore: null },
        { index: 1, calibrationScore: -0.2 },
      ]).index,
    ).toBe(1);
  });

  it('best-of-n and revision batch; an empty calibration split is refused with the flags named', () => {
    expect(parsePipelineConfig({ explanations: 2, batch: true }).explanations).toBe(2); // best-of-n batches
    expect(parsePipelineConfig({ revise: 1, batch: true }).revise).toBe(1); // revisions batch in further rounds
    expect(() => parsePipelineConfig({ explanations: 3, calibrationTop: 0, calibrationRandom: 0 })).toThrow(InputError);
    expect(() => parsePipelineConfig({ explanations: 3, calibrationTop: 0, calibrationRandom: 0 })).toThrow(
      /--calibration-top/,
    );
    expect(parsePipelineConfig({}).explanations).toBe(1);
  });

  it('run --explanations prints the selection bias in its summary', async () => {
    const three = join(directory, 'three.jsonl');
    writeFileSync(
      three,
      `${chosen
        .slice(0, 3)
        .map((feature) => JSON.stringify(feature))
        .join('\n')}\n`,
    );
    const result = await cli(
      [
        'run',
        '--records',
        three,
        '--explanations',
        '2',
        '--scorers',
        'correlation',
        '--no-progress',
        '--db',
        join(directory, 'cli.db'),
      ],
      { cwd: directory },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /best-of-n: 2\.0 candidates per feature · winners' correlation [-\d.]+ on calibration \(chosen there\), [-\d.]+ held out · selection bias [+-][\d.]+ \(3 features\)/,
    );
  });
});
