/**
 * bench/throughput — against the fake OpenAI-compatible server on 127.0.0.1 (50 ms latency, no faults), with a
 * request limit: (1) achieved requests per window as a ratio of the limit (target ≥ 0.9, no window over it, measured
 * at the server); (2) simulator calls per scored feature in each simulation mode (target 1 in prompt-logprob mode);
 * (3) prompt tokens per scored feature against the reference's layout, which simulates each record in its own call
 * with the whole few-shot prompt (target ≤ 0.5×). The limit is per 5-second window so that the run stays short. The
 * limiter counts a request until one window after it ends (so the server never sees more than the limit), which costs
 * a fraction latency / window of the rate: negligible for a real per-minute limit, a few % at 5 s.
 * Run: `npx tsx bench/throughput.ts [features]` (default 300).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeLlmServer } from '../src/llm/fake-server/fake-llm-server.ts';
import { countTokens } from '../src/llm/token-counter.ts';
import { demoRecordsPath } from '../src/pipeline/config.ts';
import { runPipeline } from '../src/pipeline/run-pipeline.ts';
import { loadFeatureRecords } from '../src/records/load.ts';
import { splitFeatureRecords } from '../src/records/splits.ts';
import { buildSimulationPrompt } from '../src/simulate/build-simulation-prompt.ts';
import { openDatabase } from '../src/store/database.ts';
import { ResultStore } from '../src/store/result-store.ts';
import { peakInWindow } from '../test/helpers/rate-windows.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../test/helpers/synthetic-features.ts';

const featureCount = Number(process.argv[2] ?? 300);
const windowMs = 5000;
const limitPerWindow = 100;
const directory = mkdtempSync(join(tmpdir(), 'autointerp-throughput-'));
const features = syntheticFeatures(featureCount, { dead: false });
const source = writeFeaturesJsonl(join(directory, 'features.jsonl'), features);

/** Most arrivals in any window, and the mean arrivals per window over the busy span. */
function windowStats(arrivals: number[]) {
  const sorted = [...arrivals].sort((a, b) => a - b);
  const peak = peakInWindow(sorted, windowMs);
  // The sustained rate: arrivals per window over the whole windows (from the first arrival) that end before the last
  // 20 % of requests — the end of a finite run drains (fewer features left than the limit allows), which says nothing
  // about the limiter.
  const first = sorted[0]!;
  const whole = Math.floor((sorted[Math.floor(sorted.length * 0.8)]! - first) / windowMs);
  const inWhole = sorted.filter((t) => t < first + whole * windowMs).length;
  const meanPerWindow = whole > 0 ? inWhole / whole : Number.NaN;
  return { peak, meanPerWindow, windows: whole };
}

async function runMode(mode: 'prompt-logprobs' | 'chat-logprobs', limited: boolean) {
  const server = await startFakeLlmServer({ latencyMs: 50 });
  const store = new ResultStore(openDatabase(join(directory, `${mode}-${limited}.db`)));
  try {
    const summary = await runPipeline(
      {
        source,
        explainer: 'openai-compatible:fake',
        simulator: 'openai-compatible:fake',
        baseUrl: server.url,
        simulationMode: mode,
        concurrency: 32,
        cache: false,
        ...(limited ? { requestsPerMinute: limitPerWindow, rateWindowMs: windowMs } : {}),
      },
      { store },
    );
    const simulateCalls = (
      store.db
        .prepare(`SELECT COUNT(*) AS n FROM llm_calls WHERE run_id = ? AND purpose = 'simulate'`)
        .get(summary.runId) as { n: number }
    ).n;
    const simulatePromptTokens = (
      store.db
        .prepare(`SELECT SUM(prompt_tokens) AS n FROM llm_calls WHERE run_id = ? AND purpose = 'simulate'`)
        .get(summary.runId) as { n: number }
    ).n;
    const arrivals = server.requests.filter((r) => r.method === 'POST').map((r) => r.receivedAtMs);
    return { summary, simulateCalls, simulatePromptTokens, arrivals };
  } finally {
    store.db.close();
    await server.close();
  }
}

/** Prompt tokens of the reference layout: one simulation prompt per held-out record (same few-shot examples). */
async function referenceLayoutTokens(): Promise<number> {
  let total = 0;
  for (const feature of features) {
    for (const split of splitFeatureRecords(feature).filter((s) => s.split !== 'explain')) {
      total += await countTokens(buildSimulationPrompt('tokens like t', [split.record.tokens]).prompt);
    }
  }
  return total;
}

const limited = await runMode('prompt-logprobs', true);
const stats = windowStats(limited.arrivals);
console.log(
  `features: ${featureCount}; fake server latency 50 ms; limit ${limitPerWindow} requests per ${windowMs / 1000} s window`,
);
console.log(
  `rate limit: ${limited.arrivals.length} requests; busiest window ${stats.peak}/${limitPerWindow}; sustained ${stats.meanPerWindow.toFixed(1)} per window over the first ${stats.windows} whole windows → achieved / limit ${(stats.meanPerWindow / limitPerWindow).toFixed(2)} (target ≥ 0.9, never over 1)`,
);

for (const mode of ['prompt-logprobs', 'chat-logprobs'] as const) {
  const run = mode === 'prompt-logprobs' ? limited : await runMode(mode, false);
  console.log(
    `${mode}: ${(run.simulateCalls / run.summary.scored).toFixed(2)} simulator calls per scored feature (${run.summary.scored} scored)`,
  );
}
const reference = await referenceLayoutTokens();
const ours = limited.simulatePromptTokens;
console.log(
  `simulation prompt tokens per scored feature: ours ${(ours / limited.summary.scored).toFixed(0)}, reference one-call-per-record layout ${(reference / featureCount).toFixed(0)} → ratio ${(ours / limited.summary.scored / (reference / featureCount)).toFixed(2)} (target ≤ 0.5)`,
);

// The same comparison on the embedded demo (64-token windows of real text), counted offline from the prompts.
const demo = (await loadFeatureRecords(demoRecordsPath)).filter((feature) => feature.top.length > 0);
let demoOurs = 0;
let demoReference = 0;
for (const feature of demo) {
  const held = splitFeatureRecords(feature)
    .filter((s) => s.split !== 'explain')
    .map((s) => s.record.tokens);
  demoOurs += await countTokens(buildSimulationPrompt('nouns right after "the"', held).prompt);
  for (const tokens of held)
    demoReference += await countTokens(buildSimulationPrompt('nouns right after "the"', [tokens]).prompt);
}
console.log(
  `demo dataset (${demo.length} features, 64-token windows): ours ${(demoOurs / demo.length).toFixed(0)}, reference ${(demoReference / demo.length).toFixed(0)} prompt tokens per feature → ratio ${(demoOurs / demoReference).toFixed(2)}`,
);
rmSync(directory, { recursive: true, force: true });
