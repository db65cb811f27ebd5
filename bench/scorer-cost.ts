/**
 * @module bench/scorer-cost — what each scorer costs per feature, in LLM calls and prompt tokens, measured in one run
 * on the demo's planted features (offline, baseline simulator and judge, whose usage counts tokens as the OpenAI
 * tokenizer does): correlation (the simulation of the held-out records) against detection and fuzzing (judge prompts
 * of short windows), and their ratio. Issue 16 asks that detection + fuzzing together cost fewer prompt tokens per
 * feature than the simulation of the same feature.
 * Run: `npx tsx bench/scorer-cost.ts [--features N]` (default: every planted feature). Prints numbers only.
 */
import { parseArgs } from 'node:util';
import { createBaselineProvider } from '../src/llm/baseline/baseline-provider.ts';
import { getEncoder } from '../src/llm/token-counter.ts';
import { validateScorers } from '../src/pipeline/validate-scorers.ts';
import { loadTruthCases } from '../src/pipeline/validate-scorers-truth.ts';
import { scorerNamed } from '../src/score/registry.ts';

const { values: flags } = parseArgs({ options: { features: { type: 'string' } } });
const features = flags.features === undefined ? undefined : Number(flags.features);

const names = ['correlation', 'detection', 'fuzzing'];
const scorers = names.map((name) => scorerNamed(name)!);
const cases = await loadTruthCases(['planted'], features === undefined ? {} : { features });
const encoder = await getEncoder();
const provider = createBaselineProvider();
const report = await validateScorers({
  cases,
  scorers,
  simulator: provider,
  countTokens: (text) => encoder.encode(text, 'all').length,
});

console.log(`scorer cost per explanation scored · ${cases.length} planted features · baseline provider (offline)`);
console.log('scorer        calls  prompt tokens  completion tokens');
const perScorer = new Map(report.rows.map((row) => [row.scorer, row]));
for (const name of names) {
  const row = perScorer.get(name)!;
  console.log(
    `${name.padEnd(12)} ${(row.callsPerExplanation ?? 0).toFixed(2).padStart(6)} ${(row.promptTokensPerExplanation ?? 0).toFixed(0).padStart(14)} ${(row.completionTokensPerExplanation ?? 0).toFixed(0).padStart(18)}`,
  );
}
const tokens = (name: string) => perScorer.get(name)?.promptTokensPerExplanation ?? Number.NaN;
const ratio = (tokens('detection') + tokens('fuzzing')) / tokens('correlation');
console.log(`(detection + fuzzing) / simulation prompt tokens: ${ratio.toFixed(2)}×`);
