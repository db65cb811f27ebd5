/**
 * @module bench/best-of-n — what best-of-n explanations (`run --explanations N`) buy and cost on the demo's planted
 * features, offline (baseline simulator): for N = 1, 2, 4, 8, the held-out mean correlation.all (the score split,
 * never seen while choosing), the selection bias (winners' calibration − held-out correlation), and LLM calls and
 * prompt tokens per feature, as ratios to N = 1. Two explainers: the baseline (its samples name seeded subsets of
 * the top tokens: close in quality) and a fake one of mixed quality (candidates are the ground truth's true
 * explanation, its first part, or its wrong one, as in test/pipeline/best-of-n.test.ts). Then the calibration split's
 * size: one-shot vs best-of-4 with the baseline explainer at 2+2, 5+5 and 8+8 calibration records.
 * Run: `npx tsx bench/best-of-n.ts`. Prints numbers only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenConversation } from '../src/llm/baseline/conversation-text.ts';
import { parseNeuronBlocks } from '../src/llm/baseline/prompt-structure.ts';
import { createBaselineProvider } from '../src/llm/baseline/baseline-provider.ts';
import type { LlmRequest, Provider } from '../src/llm/types.ts';
import { demoPlantedPath } from '../src/pipeline/config.ts';
import { runPipeline } from '../src/pipeline/run-pipeline.ts';
import { featureKey } from '../src/records/feature-key.ts';
import type { FeatureRecord } from '../src/records/types.ts';
import { openDatabase } from '../src/store/database.ts';
import { ResultStore } from '../src/store/result-store.ts';

interface Truth {
  feature: FeatureRecord['id'];
  explanation: string;
  wrongExplanation: string;
}
const truths = JSON.parse(readFileSync(new URL('../data/demo/ground-truth.json', import.meta.url), 'utf8')) as Truth[];
const truthOf = new Map(truths.map((truth) => [featureKey(truth.feature), truth]));
const planted = readFileSync(demoPlantedPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as FeatureRecord);
const featureOfRecord = new Map<string, string>();
for (const feature of planted) {
  for (const record of feature.top) featureOfRecord.set(record.tokens.join(''), featureKey(feature.id));
}

/** The feature an explain prompt shows (its records' vote). */
function truthOfPrompt(request: LlmRequest): Truth {
  const votes = new Map<string, number>();
  for (const record of parseNeuronBlocks(flattenConversation(request.messages ?? [])).at(-1)?.records ?? []) {
    const key = featureOfRecord.get(record.lines.map((line) => line.token).join(''));
    if (key) votes.set(key, (votes.get(key) ?? 0) + 1);
  }
  return truthOf.get([...votes].reduce((a, b) => (b[1] > a[1] ? b : a))[0])!;
}

/**
 * Mixed quality, with the baseline's usage (so prompt tokens count): the one-shot candidate is wrong for every other
 * feature; sample i ≥ 1 is true (i % 3 = 1), its first part (i % 3 = 2) or wrong (i % 3 = 0).
 */
function mixedExplainer(): Provider {
  const baseline = createBaselineProvider();
  return {
    ...baseline,
    id: 'mock:mixed-quality',
    isBaseline: false,
    async complete(request) {
      const answered = await baseline.complete(request);
      const truth = truthOfPrompt(request);
      const position = planted.findIndex((feature) => featureKey(feature.id) === featureKey(truth.feature));
      const sample = request.sampleIndex ?? 0;
      const text =
        sample === 0
          ? position % 2 === 0
            ? truth.wrongExplanation
            : truth.explanation
          : [truth.wrongExplanation, truth.explanation, truth.explanation.split(/[,:]/)[0]!][sample % 3]!;
      return { ...answered, text: ` ${text}.` };
    },
  };
}

const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-best-of-n-'));
let databases = 0;

interface Measured {
  heldOut: number;
  bias: number | null;
  callsPerFeature: number;
  promptTokensPerFeature: number;
}

async function measure(
  explainer: 'baseline' | 'mixed',
  explanations: number,
  calibration: [number, number] = [2, 2],
): Promise<Measured> {
  const store = new ResultStore(openDatabase(join(directory, `run-${++databases}.db`)));
  const summary = await runPipeline(
    {
      source: demoPlantedPath,
      scorers: ['correlation'],
      ablation: false,
      explanations,
      calibrationTop: calibration[0],
      calibrationRandom: calibration[1],
      cache: false,
    },
    { store, ...(explainer === 'mixed' ? { explainer: mixedExplainer() } : {}) },
  );
  const scores = store.db
    .prepare(
      `SELECT AVG(value) AS mean FROM scores WHERE run_id = ? AND kind = 'correlation.all' AND value IS NOT NULL`,
    )
    .get(summary.runId) as { mean: number };
  const calls = store.db
    .prepare('SELECT COUNT(*) AS n, SUM(prompt_tokens) AS tokens FROM llm_calls WHERE run_id = ?')
    .get(summary.runId) as { n: number; tokens: number };
  const features = summary.scored + summary.skipped;
  store.db.close();
  return {
    heldOut: scores.mean,
    bias: summary.selection?.selectionBias ?? null,
    callsPerFeature: calls.n / features,
    promptTokensPerFeature: calls.tokens / features,
  };
}

const fixed = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;

for (const explainer of ['baseline', 'mixed'] as const) {
  console.log(`explainer ${explainer} · ${planted.length} planted features · calibration 2 top + 2 random`);
  console.log('N  held-out  vs N=1   selection bias  calls/feature  prompt tokens/feature');
  let base: Measured | undefined;
  for (const n of [1, 2, 4, 8]) {
    const m = await measure(explainer, n);
    base ??= m;
    console.log(
      `${n}  ${fixed(m.heldOut)}     ${(m.heldOut - base.heldOut >= 0 ? '+' : '') + fixed(m.heldOut - base.heldOut)}   ${fixed(m.bias).padStart(6)}          ${m.callsPerFeature.toFixed(1)} (${ratio(m.callsPerFeature, base.callsPerFeature)})   ${m.promptTokensPerFeature.toFixed(0)} (${ratio(m.promptTokensPerFeature, base.promptTokensPerFeature)})`,
    );
  }
}

console.log('calibration size (baseline explainer): selection noise (bias) vs gain of best-of-4 over one-shot');
console.log('calibration  one-shot  best-of-4  gain    bias');
for (const size of [2, 5, 8]) {
  const one = await measure('baseline', 1, [size, size]);
  const four = await measure('baseline', 4, [size, size]);
  console.log(
    `${size}+${size}          ${fixed(one.heldOut)}     ${fixed(four.heldOut)}      ${fixed(four.heldOut - one.heldOut)}  ${fixed(four.bias)}`,
  );
}
rmSync(directory, { recursive: true, force: true });
