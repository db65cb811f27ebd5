/**
 * bench/report — is the HTML report usable at 10,000 features? Stores a synthetic run as the pipeline would
 * (per feature 5 top + 5 random held-out score records of 64 tokens with simulations, 5 score kinds), builds the
 * report with the defaults of `autointerp report` (2 top + 2 random records a feature), and prints the build time,
 * the file size, and in headless Chromium the load time to the first cards rendered, the time a search takes to
 * narrow the cards, and the JS heap used.
 *
 *   npx tsx bench/report.ts [features=10000]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mulberry32, randomGaussian, randomInteger } from '../src/common/random.ts';
import { renderReportHtml } from '../src/report/html-report.ts';
import { buildReportData } from '../src/report/report-data.ts';
import { openDatabase } from '../src/store/database.ts';
import { ResultStore, type StoredRecord } from '../src/store/result-store.ts';
import { launchChromium } from '../test/report/chromium.ts';

const featureCount = Number(process.argv[2] ?? 10_000);
const WINDOW = 64;
const random = mulberry32(2024);
const words = Array.from({ length: 6000 }, (_, i) => ` w${i.toString(36)}`);

function record(source: 'top' | 'random', fires: boolean): StoredRecord {
  const tokens = Array.from({ length: WINDOW }, () => words[randomInteger(random, words.length)]!);
  const activations = tokens.map(() => (fires && random() < 0.08 ? Math.round(random() * 900) / 100 : 0));
  const expected = activations.map((a) => Math.max(0, Math.min(10, a + randomGaussian(random))));
  return { split: 'score', source, tokens, activations, expected };
}

const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-report-'));
const store = new ResultStore(openDatabase(join(directory, 'bench.db')));
let started = performance.now();
const runId = store.createRun({
  name: `bench · ${featureCount} synthetic features`,
  config: {},
  codeVersion: 'bench',
  promptVersions: { explain: 'explain.v1', simulate: 'simulate.v1' },
  explainer: 'mock:explainer',
  simulator: 'mock:simulator',
  isBaseline: false,
  source: 'synthetic',
});
for (let i = 0; i < featureCount; i++) {
  const value = Math.max(-1, Math.min(1, 0.5 + 0.25 * randomGaussian(random)));
  store.saveFeatureResult(runId, {
    status: 'scored',
    feature: {
      id: { model: 'bench', layer: i % 12, kind: 'sae', index: i, sae: 'res-16k' },
      top: [],
      random: [],
      stats: {
        mean: 0.1,
        variance: 0.2,
        skewness: null,
        kurtosis: null,
        maxActivation: 9,
        density: 10 ** (-4 * random()),
      },
    },
    records: [
      ...Array.from({ length: 5 }, () => record('top', true)),
      ...Array.from({ length: 5 }, () => record('random', random() < 0.3)),
    ],
    explanation: {
      text: `tokens about topic ${i % 997} and ${words[i % words.length]!.trim()}`,
      explainer: 'mock:explainer',
      promptVersion: 'explain.v1',
      isBaseline: false,
    },
    simulation: { simulator: 'mock:simulator', mode: 'prompt-logprobs', promptVersion: 'simulate.v1' },
    scores: (['correlation.all', 'correlation.top', 'correlation.random', 'rsquared.all', 'absdev.all'] as const).map(
      (kind) => ({
        kind,
        value: kind === 'correlation.all' ? value : value - 0.1 * random(),
        reason: null,
        nTokens: 640,
        nMissing: 0,
      }),
    ),
  });
}
store.setRunStatus(runId, 'finished');
const storeMs = performance.now() - started;

started = performance.now();
const data = buildReportData(store.db, store.getRun(runId)!);
const queryMs = performance.now() - started;
started = performance.now();
const html = renderReportHtml(data);
const renderMs = performance.now() - started;
const file = join(directory, 'report.html');
writeFileSync(file, html);
store.db.close();
const bytes = statSync(file).size;

const browser = await launchChromium(); // the tests' browser: the system's, else the packaged one
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const loads: { wallMs: number; firstCardsMs: number }[] = [];
const searches: number[] = [];
let heapMb = 0;
for (let attempt = 0; attempt < 3; attempt++) {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  const begin = performance.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="true"] .card');
  const wallMs = performance.now() - begin;
  // performance.now() in the page counts from the navigation start
  const firstCardsMs = await page.evaluate(
    () => (window as unknown as { __autointerpReport: { firstCardsMs: number } }).__autointerpReport.firstCardsMs,
  );
  loads.push({ wallMs, firstCardsMs });
  // a string, not a function: tsx would wrap named functions in a helper the page does not have
  const searchMs = (await page.evaluate(`(async () => {
    const label = document.getElementById('card-count');
    const matching = () => Number((/ of ([\\d,]+) matching/.exec(label.textContent || '') || [0, '-1'])[1].replace(/,/g, ''));
    const before = matching();
    const input = document.getElementById('search');
    const t0 = performance.now();
    input.value = 'topic 420';
    input.dispatchEvent(new Event('input'));
    while (matching() === before) await new Promise((resolve) => setTimeout(resolve, 2));
    return performance.now() - t0;
  })()`)) as number;
  searches.push(searchMs);
  const metrics = await page.evaluate(
    () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0,
  );
  heapMb = Math.max(heapMb, metrics / 2 ** 20);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await page.close();
}
await browser.close();
rmSync(directory, { recursive: true, force: true });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(
  `report bench: ${featureCount} features (12 layers), 10 score records × ${WINDOW} tokens stored per feature, 2 top + 2 random shown`,
);
console.log(`  store the run (bench setup)              ${ms(storeMs)}`);
console.log(`  read report data from SQLite             ${ms(queryMs)}`);
console.log(`  render HTML                              ${ms(renderMs)}`);
console.log(
  `  file size                                ${(bytes / 2 ** 20).toFixed(1)} MiB (${(bytes / featureCount / 1024).toFixed(2)} KiB per feature)`,
);
console.log(
  `  Chromium: navigation start → first cards ${ms(median(loads.map((l) => l.firstCardsMs)))} (median of ${loads.length}; ${loads.map((l) => ms(l.firstCardsMs)).join(', ')})`,
);
console.log(`  Chromium: goto → cards (wall, incl. IPC) ${ms(median(loads.map((l) => l.wallMs)))}`);
console.log(
  `  Chromium: search over all features       ${ms(median(searches))} (typing to narrowed cards, incl. the 80 ms debounce)`,
);
console.log(`  Chromium: JS heap after load             ${heapMb ? `${heapMb.toFixed(0)} MiB` : 'n/a'}`);
