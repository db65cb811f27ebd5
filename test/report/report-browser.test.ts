/**
 * The HTML report opened in headless Chromium (one browser and one page for the file): it renders without console
 * errors or network requests, tokens and explanations that look like markup render as text and run nothing, search /
 * sort / filters work, cards are built lazily, and a screenshot of its top is saved to test-artifacts/; a feature
 * card lists the best-of-n candidates (kind and parent, calibration and held-out scores, the selected one marked),
 * and the cards of judged scorers group every score by scorer with its prompt and show the judge's answers beside
 * the truth.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import type { FeatureRecord } from '../../src/records/types.ts';
import { renderReportHtml } from '../../src/report/html-report.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { openBrowserPage, POLL_HANG_GUARD, type WatchedPage } from '../helpers/browser-page.ts';
import { mockProviders } from '../helpers/echo-mock.ts';
import { candidateRun, HOSTILE as HOSTILE_CANDIDATE } from './candidate-rows.ts';
import { findChromium, missingChromiumMessage } from './chromium.ts';
import { judged, plantJudgements, plantScores } from './scorer-rows.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const root = new URL('../..', import.meta.url).pathname;
const artifacts = join(root, 'test-artifacts');
const directory = mkdtempSync(join(tmpdir(), 'autointerp-report-'));
const prompts = {
  explainPrompt: new URL('../fixtures/prompts/explain.test.json', import.meta.url).pathname,
  simulatePrompt: new URL('../fixtures/prompts/simulate.test.json', import.meta.url).pathname,
};

const SCRIPT_TOKEN = '<script>alert(1)</script>';
const BREAKOUT_TOKEN = '</script><script>alert(3)</script><!--';
const HOSTILE_EXPLANATION = `tokens like ${SCRIPT_TOKEN} and <img src=x onerror=alert(2)>`;

/** Feature i fires on its own token; feature 0's token is a script tag, feature 1's tries to end the data block. */
function features(): FeatureRecord[] {
  const fireToken = (i: number) => (i === 0 ? SCRIPT_TOKEN : i === 1 ? BREAKOUT_TOKEN : `t${i}`);
  const window = (i: number, fire: boolean, seed: number) => {
    const tokens = Array.from({ length: 10 }, (_, k) => (fire && k % 4 === 1 ? fireToken(i) : ` w${(seed + k) % 7}`));
    return { tokens, activations: tokens.map((t, k) => (t === fireToken(i) ? 1 + k / 10 : 0)) };
  };
  const list: FeatureRecord[] = Array.from({ length: 8 }, (_, i) => ({
    id: { model: 'synthetic', layer: i % 2, kind: 'neuron' as const, index: i },
    top: Array.from({ length: 20 }, (_, r) => window(i, true, r)),
    random: Array.from({ length: 10 }, (_, r) => window(i, r % 3 === 0, r)),
    stats: { mean: 0.2, variance: 0.1, skewness: null, kurtosis: null, maxActivation: 2, density: 0.02 * (i + 1) },
  }));
  list.push({
    id: { model: 'synthetic', layer: 1, kind: 'neuron', index: 8 },
    top: [{ tokens: ['a', 'b'], activations: [0, 0] }],
    random: [{ tokens: ['c', 'd'], activations: [0, 0] }],
    stats: { mean: 0, variance: 0, skewness: null, kurtosis: null, maxActivation: 0, density: null },
  });
  return list;
}

const IMAGE_TOKEN = '<img src=x onerror=alert(2)>';

/** Without a browser the tests below are skipped, and this one line says what is missing (never a failure). */
const chromiumAvailable = findChromium() !== null;
if (!chromiumAvailable) console.warn(`HTML report browser tests skipped: ${missingChromiumMessage()}`);

/** The report of a pipeline run (mock explainer and simulator) of `features()`, and its scores by feature key. */
async function pipelineReport(): Promise<{ file: string; scores: Map<string, number | null> }> {
  const source = join(directory, 'features.jsonl');
  writeFileSync(
    source,
    features()
      .map((f) => JSON.stringify(f))
      .join('\n'),
  );
  const store = new ResultStore(openDatabase(join(directory, 'report.db')));
  const { explainer, simulator } = mockProviders(
    (call) => (call === 0 ? HOSTILE_EXPLANATION : call === 1 ? 'the end of a script block' : `tokens like t${call}`),
    // feature 7's simulator is half right (predicts its token and w3), so scores differ and sorting means something
    (token) =>
      token === SCRIPT_TOKEN || token === BREAKOUT_TOKEN || /^t\d+$/.test(token) ? 10 : token === ' w3' ? 6 : 0,
  );
  const summary = await runPipeline({ source, concurrency: 1, ...prompts }, { store, explainer, simulator });
  expect(summary).toMatchObject({ scored: 8, skipped: 1 });
  const data = buildReportData(store.db, store.getRun(summary.runId)!, { generatedAt: '2026-01-01T00:00:00Z' });
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, 'report-test.html');
  writeFileSync(file, renderReportHtml(data));
  store.db.close();
  return { file, scores: new Map(data.features.map((f) => [f.key, f.scores['correlation.all']?.value ?? null])) };
}

/** The report of candidate-rows.ts's run: a best-of-n feature (three candidates) and a one-shot one. */
function candidatesReport(): string {
  const { store, run } = candidateRun();
  const file = join(directory, 'candidates.html');
  writeFileSync(file, renderReportHtml(buildReportData(store.db, run, { generatedAt: 'fixed' })));
  store.db.close();
  return file;
}

/**
 * The report of a run with judged scorers: detection and fuzzing scores on three features (feature 2's fuzzing null),
 * feature 0's judge answers (fuzzing: two, with markup tokens; detection: ten, four shown).
 */
function judgedReport(): string {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = syntheticRun(store, { name: 'judged', features: featuresWith(3, (i) => i / 4, 1) });
  plantScores(
    store.db,
    runId,
    [0, 1, 2].flatMap((i) => [
      { index: i, kind: 'detection.balanced_accuracy', value: 0.5 + i / 10 },
      { index: i, kind: 'fuzzing.balanced_accuracy', value: i === 2 ? null : 0.9, reason: 'judge never answered' },
    ]),
  );
  plantJudgements(store.db, runId, [
    {
      index: 0,
      scorer: 'fuzzing',
      judge: 'mock:judge',
      examples: [
        { ...judged('x', true, { highlighted: [1], probability: 0.83 }), tokens: [' the', SCRIPT_TOKEN, ' end'] },
        { ...judged('x', false, { highlighted: [0], predicted: true }), tokens: [IMAGE_TOKEN, ' ok'] },
      ],
    },
    {
      index: 0,
      scorer: 'detection',
      examples: Array.from({ length: 10 }, (_, i) => judged(`window ${i}`, i % 2 === 0)),
    },
  ]);
  const file = join(directory, 'judged.html');
  writeFileSync(
    file,
    renderReportHtml(buildReportData(store.db, store.getRun(runId)!, { generatedAt: 'fixed', judgementsPerScorer: 4 })),
  );
  store.db.close();
  return file;
}

let browser: Browser;
let watched: WatchedPage;
let reportFile: string;
let scores: Map<string, number | null>;
let candidatesFile: string;
let judgedFile: string;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  ({ browser, watched } = await openBrowserPage(async () => {
    ({ file: reportFile, scores } = await pipelineReport());
    candidatesFile = candidatesReport();
    judgedFile = judgedReport();
  }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** The file's page on `file`, ready (its cards built), the events of earlier pages forgotten. */
async function open(file: string): Promise<WatchedPage> {
  await watched.visit(pathToFileURL(file).href);
  await watched.page.waitForSelector('body[data-ready="true"]');
  return watched;
}

const cardKeys = (page: Page) =>
  page.locator('.card').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-key')!));

describe.skipIf(!chromiumAvailable)('HTML report in headless Chromium', () => {
  it('renders every part with no console error, no network, and markup in the data as inert text', async () => {
    const { page, dialogs, errors, requests } = await open(reportFile);
    expect(await page.locator('.card').count()).toBe(9);
    expect(await page.locator('#leaderboard tbody tr').count()).toBe(2); // layers 0 and 1
    expect(await page.locator('svg.chart').count()).toBe(4); // overall histogram, scatter, one histogram per leaderboard row
    // in every chart the title lines and the count caption lie inside the chart and overlap nothing else
    const overlaps = await page.locator('svg.chart').evaluateAll((charts) =>
      charts.flatMap((chart) => {
        const box = chart.getBoundingClientRect();
        const texts = [...chart.querySelectorAll('text.chart-title, text.caption')].map((text) => ({
          text: text.textContent,
          rect: text.getBoundingClientRect(),
        }));
        const problems = texts
          .filter(({ rect }) => rect.left < box.left || rect.right > box.right)
          .map(({ text }) => `${text} leaves the chart`);
        texts.forEach((a, i) =>
          texts.slice(i + 1).forEach((b) => {
            const apart =
              a.rect.right <= b.rect.left ||
              b.rect.right <= a.rect.left ||
              a.rect.bottom <= b.rect.top ||
              b.rect.bottom <= a.rect.top;
            if (!apart) problems.push(`${a.text} overlaps ${b.text}`);
          }),
        );
        return problems;
      }),
    );
    expect(overlaps).toEqual([]);
    expect(await page.locator('#card-count').textContent()).toBe('showing 9 of 9 matching (9 features)');

    // the hostile strings are on the page as text…
    await expect.poll(() => page.getByText(SCRIPT_TOKEN, { exact: true }).count(), POLL_HANG_GUARD).toBeGreaterThan(0);
    expect(await page.getByText(SCRIPT_TOKEN, { exact: true }).first().isVisible()).toBe(true);
    expect(await page.getByText(BREAKOUT_TOKEN, { exact: true }).first().isVisible()).toBe(true);
    expect(await page.locator('.card[data-key="synthetic/0/neuron/0"] .explanation').textContent()).toBe(
      HOSTILE_EXPLANATION,
    );
    expect(await page.locator('#leaderboard').textContent()).toContain(HOSTILE_EXPLANATION); // the leaderboard's best/worst cells
    // …and became no element and ran nothing
    expect(await page.locator('script').count()).toBe(2); // the data block and the page script
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(reportFile).href]);

    // true vs simulated panes side by side, token spans shaded where the feature fires
    const firstRecord = page.locator('.card[data-key="synthetic/0/neuron/0"] .record').first();
    expect(await firstRecord.locator('.pane').count()).toBe(2);
    const shaded = await firstRecord
      .locator('.pane')
      .first()
      .locator('.tok')
      .evaluateAll((spans) =>
        spans.filter((span) => (span as HTMLElement).style.backgroundColor !== '').map((span) => span.textContent),
      );
    expect(shaded.length).toBeGreaterThan(0);
    expect(new Set(shaded)).toEqual(new Set([SCRIPT_TOKEN]));

    mkdirSync(artifacts, { recursive: true });
    // the top of the page (header, leaderboard, charts): a full-page picture (8,000 px tall) costs ten times as much
    await page.screenshot({ path: join(artifacts, 'report.png') });
    expect(statSync(join(artifacts, 'report.png')).size).toBeGreaterThan(10_000);
  });

  it('the search box filters cards; sort and filters reorder and narrow them', async () => {
    const { page, errors } = await open(reportFile);
    const search = page.locator('#search');
    await search.fill('script');
    await expect
      .poll(async () => (await cardKeys(page)).sort(), POLL_HANG_GUARD)
      .toEqual(['synthetic/0/neuron/0', 'synthetic/1/neuron/1']);
    await search.fill('onerror=alert');
    await expect.poll(() => cardKeys(page), POLL_HANG_GUARD).toEqual(['synthetic/0/neuron/0']);
    await search.fill('synthetic/1/neuron/5');
    await expect.poll(() => cardKeys(page), POLL_HANG_GUARD).toEqual(['synthetic/1/neuron/5']);
    await search.fill('no feature says this');
    await expect.poll(() => page.locator('.card').count(), POLL_HANG_GUARD).toBe(0);
    expect(await page.locator('#card-count').textContent()).toBe('showing 0 of 0 matching (9 features)');
    await search.fill('');
    await expect.poll(() => page.locator('.card').count(), POLL_HANG_GUARD).toBe(9);

    const byScore = [...scores].sort((a, b) =>
      a[1] === null ? 1 : b[1] === null ? -1 : a[1] - b[1] || a[0].localeCompare(b[0]),
    );
    await page.selectOption('#sort', 'score-asc');
    const ascending = await cardKeys(page);
    expect(ascending.at(-1)).toBe('synthetic/1/neuron/8'); // null score last
    expect(ascending.map((key) => scores.get(key))).toEqual(byScore.map(([, value]) => value));
    await page.selectOption('#sort', 'index');
    expect(await cardKeys(page)).toEqual(
      Array.from({ length: 9 }, (_, i) => `synthetic/${i === 8 ? 1 : i % 2}/neuron/${i}`),
    );
    await page.selectOption('#layer-filter', '1');
    expect(await cardKeys(page)).toEqual([
      'synthetic/1/neuron/1',
      'synthetic/1/neuron/3',
      'synthetic/1/neuron/5',
      'synthetic/1/neuron/7',
      'synthetic/1/neuron/8',
    ]);
    await page.selectOption('#status-filter', 'null');
    expect(await cardKeys(page)).toEqual(['synthetic/1/neuron/8']);
    expect(await page.locator('.card .reason').textContent()).toMatch(/^skipped: feature never activates/);
    expect(errors).toEqual([]);
  });

  it('builds cards on demand for a large run: one page first, more on "show more" and on scrolling', async () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const run = syntheticRun(store, { name: 'large', features: featuresWith(500, (i) => ((i * 37) % 100) / 100, 10) });
    const file = join(directory, 'large.html');
    writeFileSync(file, renderReportHtml(buildReportData(store.db, store.getRun(run)!)));
    const { page, errors } = await open(file);
    expect(await page.locator('.card').count()).toBe(40);
    await page.locator('#show-more').click(); // (scrolling to the button may also load a page)
    const afterClick = await page.locator('.card').count();
    expect(afterClick % 40).toBe(0);
    expect(afterClick).toBeGreaterThanOrEqual(80);
    await page.locator('.card').last().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 20_000);
    await expect.poll(() => page.locator('.card').count(), POLL_HANG_GUARD).toBeGreaterThan(afterClick);
    expect(await page.locator('.card').count()).toBeLessThan(500);
    await page.locator('#search').fill('t499');
    await expect.poll(() => cardKeys(page), POLL_HANG_GUARD).toEqual(['synthetic/9/neuron/499']);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!chromiumAvailable)('HTML report: best-of-n candidates on the feature card', () => {
  it('one row per candidate: kind and parent, calibration, held out, selected; markup inert', async () => {
    const { page, dialogs, errors } = await open(candidatesFile);
    const table = page.locator('.card[data-key="synthetic/0/neuron/0"] .candidates');
    expect(await table.locator('.judged-label').textContent()).toMatch(
      /^3 candidate explanations, chosen on the calibration split/,
    );
    const rows = await table
      .locator('tr')
      .evaluateAll((trs) =>
        trs.map((tr) => ({ className: tr.className, cells: [...tr.children].map((cell) => cell.textContent) })),
      );
    expect(rows).toEqual([
      { className: '', cells: ['#', 'kind', 'calibration', 'held out', 'selected', 'explanation'] },
      { className: '', cells: ['0', 'sample', '0.210', '0.180', '', 'prepositions'] },
      { className: '', cells: ['1', 'sample', '—', '—', '', HOSTILE_CANDIDATE] },
      {
        className: 'selected',
        cells: ['2', 'revision of #0', '0.912', '0.870', 'selected', 'determiners, especially "the"'],
      },
    ]);
    expect(await page.locator('.card[data-key="synthetic/0/neuron/1"] .candidates').count()).toBe(0);
    expect(await page.locator('.card script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!chromiumAvailable)('HTML report cards with judged scorers', () => {
  it("shows every score by scorer with its prompt, and the judge's answers beside the truth, markup inert", async () => {
    const { page, dialogs, errors } = await open(judgedFile);
    const card = page.locator('.card[data-key="synthetic/0/neuron/0"]');

    const scoreLines = await card.locator('.scores').allTextContents();
    expect(scoreLines.find((line) => line.startsWith('detection'))).toMatch(
      /^detectionprompt detection\.v1detection\.balanced_accuracy 0\.500/,
    );
    expect(scoreLines.find((line) => line.startsWith('correlation'))).not.toContain('prompt');
    const nullLine = (await page.locator('.card[data-key="synthetic/0/neuron/2"] .scores').allTextContents()).find(
      (line) => line.startsWith('fuzzing'),
    );
    expect(nullLine).toMatch(/fuzzing\.balanced_accuracy null.*null: judge never answered$/);

    const fuzzing = card.locator('.judged[data-scorer="fuzzing"]');
    expect(await fuzzing.locator('.judged-label').textContent()).toBe(
      'fuzzing: judge mock:judge · prompt fuzzing.v1 · 1 of 2 answers right · 2 of 2 examples shown (mistakes picked first)',
    );
    const rows = await fuzzing.locator('tr').evaluateAll((trs) =>
      trs.slice(1).map((tr) => ({
        className: tr.className,
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
        highlighted: [...tr.querySelectorAll('.tok.hl')].map((span) => span.textContent),
      })),
    );
    expect(rows).toEqual([
      {
        className: 'right',
        cells: [` the${SCRIPT_TOKEN} end`, 'top', 'yes', 'yes', '0.83'],
        highlighted: [SCRIPT_TOKEN],
      },
      {
        className: 'wrong',
        cells: [`${IMAGE_TOKEN} ok`, 'random-negative', 'no', 'yes', '—'],
        highlighted: [IMAGE_TOKEN],
      },
    ]);
    // the cap: 4 of detection's 10 examples, both truths
    expect(await card.locator('.judged[data-scorer="detection"] tr').count()).toBe(5);
    expect(await card.locator('.judged[data-scorer="detection"] .judged-label').textContent()).toContain(
      '4 of 10 examples shown',
    );

    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!chromiumAvailable)('the page watcher the browser tests share (test/helpers/browser-page.ts)', () => {
  it('records console errors, dialogs and requests, and each visit starts with none', async () => {
    const { page, dialogs, errors, requests } = watched;
    await watched.visit('about:blank'); // (a report's Content-Security-Policy would block both)
    await page.setContent(
      '<img src="http://127.0.0.1:9/nothing.png" alt=""><script>console.error("an error"); alert("a dialog")</script>',
    );
    await expect.poll(() => requests.includes('http://127.0.0.1:9/nothing.png'), POLL_HANG_GUARD).toBe(true);
    await expect.poll(() => errors.includes('an error'), POLL_HANG_GUARD).toBe(true);
    expect(dialogs).toEqual(['a dialog']);
    await open(judgedFile);
    expect([dialogs, errors, requests]).toEqual([[], [], [pathToFileURL(judgedFile).href]]);
  });
});
