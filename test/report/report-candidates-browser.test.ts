/**
 * The HTML report's feature card lists the best-of-n candidates in headless Chromium: one row per candidate with its
 * kind (sample, or revision of its parent), calibration and held-out scores (— where not measured) and the selected
 * one marked; hostile candidate text is inert. A one-shot feature's card has no candidate table.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/report/html-report.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { candidateRun, HOSTILE } from './candidate-rows.ts';
import { findChromium, launchChromium, missingChromiumMessage } from './chromium.ts';

const chromiumAvailable = findChromium() !== null;
if (!chromiumAvailable) console.warn(`candidate report browser tests skipped: ${missingChromiumMessage()}`);

let browser: Browser;
let reportFile: string;
const directory = mkdtempSync(join(tmpdir(), 'autointerp-candidates-report-'));

beforeAll(async () => {
  if (!chromiumAvailable) return;
  const { store, run } = candidateRun();
  reportFile = join(directory, 'candidates.html');
  writeFileSync(reportFile, renderReportHtml(buildReportData(store.db, run, { generatedAt: 'fixed' })));
  store.db.close();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe.skipIf(!chromiumAvailable)('HTML report: best-of-n candidates on the feature card (headless Chromium)', () => {
  it('one row per candidate: kind and parent, calibration, held out, selected; markup inert', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    const errors: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(pathToFileURL(reportFile).href);
    await page.waitForSelector('body[data-ready="true"]');
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
      { className: '', cells: ['1', 'sample', '—', '—', '', HOSTILE] },
      {
        className: 'selected',
        cells: ['2', 'revision of #0', '0.912', '0.870', 'selected', 'determiners, especially "the"'],
      },
    ]);
    expect(await page.locator('.card[data-key="synthetic/0/neuron/1"] .candidates').count()).toBe(0);
    expect(await page.locator('.card script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
