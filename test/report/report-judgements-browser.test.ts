/**
 * The HTML report's cards with judged scorers, in headless Chromium: every score grouped by scorer with its prompt
 * version, and the judge's answers next to the truth (highlighted tokens marked, mistakes marked), with tokens that
 * look like markup rendered as inert text.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/report/html-report.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { findChromium, launchChromium, missingChromiumMessage } from './chromium.ts';
import { judged, plantJudgements, plantScores } from './scorer-rows.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const SCRIPT_TOKEN = '<script>alert(1)</script>';
const IMAGE_TOKEN = '<img src=x onerror=alert(2)>';

const chromiumAvailable = findChromium() !== null;
if (!chromiumAvailable) console.warn(`judged report browser tests skipped: ${missingChromiumMessage()}`);

let browser: Browser;
let reportFile: string;

beforeAll(async () => {
  if (!chromiumAvailable) return;
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
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-judged-report-'));
  reportFile = join(directory, 'judged.html');
  writeFileSync(
    reportFile,
    renderReportHtml(buildReportData(store.db, store.getRun(runId)!, { generatedAt: 'fixed', judgementsPerScorer: 4 })),
  );
  store.db.close();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(!chromiumAvailable)('HTML report cards with judged scorers in headless Chromium', () => {
  it("shows every score by scorer with its prompt, and the judge's answers beside the truth, markup inert", async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
    });
    await page.goto(pathToFileURL(reportFile).href);
    await page.waitForSelector('body[data-ready="true"]');
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
    await page.close();
  });
});
