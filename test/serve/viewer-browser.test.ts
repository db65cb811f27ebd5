/**
 * The viewer in headless Chromium (one browser and one page for the file): every page loads with no console error,
 * no dialog and no request to anything but the server; tokens and explanations that look like markup stay text;
 * search, sorting and pagination work by keyboard and by mouse; hovering a heat-map token shows its values; compare
 * works from its form. The compare page's screenshot goes to test-artifacts/serve/compare.png (the README's picture).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewer, type ViewerServer } from '../../src/serve/viewer-server.ts';
import { openBrowserPage, POLL_HANG_GUARD, type WatchedPage } from '../helpers/browser-page.ts';
import { findChromium, missingChromiumMessage } from '../report/chromium.ts';
import { buildViewerFixture, type ViewerFixture } from './viewer-fixture.ts';

const artifacts = join(new URL('../..', import.meta.url).pathname, 'test-artifacts', 'serve');
const chromiumAvailable = findChromium() !== null;
if (!chromiumAvailable) console.warn(`viewer browser tests skipped: ${missingChromiumMessage()}`);

let fixture: ViewerFixture;
let viewer: ViewerServer;
let browser: Browser;
let watched: WatchedPage;

beforeAll(async () => {
  if (!chromiumAvailable) return;
  mkdirSync(artifacts, { recursive: true });
  ({ browser, watched } = await openBrowserPage(async () => {
    fixture = buildViewerFixture();
    viewer = await startViewer({ databasePath: fixture.path, port: 0 });
  }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
});

/** The file's page at `path` (status 200), the events of earlier pages forgotten. */
async function open(path: string): Promise<Page> {
  const response = await watched.visit(`${viewer.url}${path}`);
  expect(response?.status()).toBe(200);
  return watched.page;
}

/** The console errors and warnings, page errors, dialogs and requests outside the server since the last `open`. */
const problems = (): string[] => [
  ...watched.dialogs.map((message) => `dialog: ${message}`),
  ...watched.errors.map((message) => `console: ${message}`),
  ...watched.requests.filter((url) => !url.startsWith(`${viewer.url}/`)).map((url) => `request: ${url}`),
];

const resultIds = (page: Page) =>
  page
    .locator('#results tbody tr td:first-child a')
    .evaluateAll((links) => links.map((link) => Number(link.getAttribute('href')!.split('/')[2]!.split('?')[0])));

describe.skipIf(!chromiumAvailable)('autointerp serve in headless Chromium', () => {
  it('loads every page with no console error, no dialog and no request outside the server', async () => {
    const paths = {
      runs: '/',
      run: `/run/${fixture.baselineRun}`,
      search: `/search?run=${fixture.baselineRun}&q=tokens`,
      feature: `/feature/${fixture.featureId(0)}?run=${fixture.baselineRun}`,
      compare: `/compare?a=${fixture.baselineRun}&b=${fixture.candidateRun}`,
    };
    for (const [name, path] of Object.entries(paths)) {
      const page = await open(path);
      if (name === 'compare') await page.screenshot({ path: join(artifacts, 'compare.png'), fullPage: true });
      // the hostile explanation and token rendered as text, nothing injected
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(problems()).toEqual([]);
    }
  });

  it('searches, sorts and pages by keyboard', async () => {
    const page = await open(`/search?run=${fixture.baselineRun}`);
    await page.locator('body').click({ position: { x: 5, y: 400 } }); // focus away from the search box
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('q');
    await page.keyboard.type('tokens like');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=tokens\+like/);
    expect(await resultIds(page)).toHaveLength(28); // every "tokens like" explanation but feature 3's (no score)
    // the sort select, by keyboard, then submit
    await page.locator('#sort').focus();
    await page.keyboard.press('ArrowDown'); // score, lowest first
    expect(await page.locator('#sort').inputValue()).toBe('score-asc');
    await page.locator('#q').press('Enter'); // submits the form
    await page.waitForURL(/sort=score-asc/);
    const ascending = await page.locator('#results tbody tr td.num').allTextContents();
    expect(ascending.map(Number)).toEqual([...ascending.map(Number)].sort((a, b) => a - b));
    // a small page, then next by keyboard
    await page.goto(`${viewer.url}/search?run=${fixture.baselineRun}&limit=4`);
    const first = await resultIds(page);
    await page.locator('#next-page').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/after=/);
    const second = await resultIds(page);
    expect(second).toHaveLength(4);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    // and back by keyboard: the previous page is the first one again
    await page.locator('#previous-page').focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/before=/);
    expect(await resultIds(page)).toEqual(first);
    expect(await page.locator('#previous-page').count()).toBe(0);
    expect(problems()).toEqual([]);
  });

  it('sorts, filters and pages by mouse', async () => {
    const page = await open(`/search?run=${fixture.baselineRun}&limit=5`);
    await page.getByRole('link', { name: '▲' }).click();
    await page.waitForURL(/sort=score-asc/);
    expect(Number(await page.locator('#results tbody tr td.num').first().textContent())).toBeCloseTo(-0.1);
    await page.locator('select[name=layer]').selectOption('2');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/layer=2/);
    const seen = new Set<number>();
    for (let pages = 0; pages < 10; pages++) {
      for (const id of await resultIds(page)) seen.add(id);
      const next = page.locator('#next-page');
      if ((await next.count()) === 0) break;
      const shown = page.url();
      await next.click();
      await page.waitForURL((url) => url.href !== shown);
    }
    expect(seen.size).toBe(10); // layer 2 holds features 2, 5, … 29, every one scored
    // back from the last page by mouse, page by page, to the first
    const backward: number[] = [];
    for (let pages = 0; pages < 10; pages++) {
      backward.unshift(...(await resultIds(page)));
      const previous = page.locator('#previous-page');
      if ((await previous.count()) === 0) break;
      const shown = page.url();
      await previous.click();
      await page.waitForURL((url) => url.href !== shown);
    }
    expect(backward).toEqual([...seen]);
    expect(problems()).toEqual([]);
  });

  it("shows a heat-map token's values on hover, and opens a feature from the results by mouse", async () => {
    const page = await open(`/search?run=${fixture.baselineRun}&q=script`);
    await page.locator('#results tbody a').first().click();
    await page.waitForURL(/\/feature\//);
    const token = page.locator('.tok[data-true="3.0000"]').first();
    expect(await token.textContent()).toBe('<script>alert(1)</script>');
    await token.hover();
    await expect
      .poll(() => page.locator('#token-detail').textContent(), POLL_HANG_GUARD)
      .toContain('true 3.000 · simulated 9.00');
    const control = page.locator('.tok[data-true="1.5000"]').first();
    expect(await control.textContent()).toBe('\\u0007bell\\u001b[31m');
    expect(await page.locator('.explanation').first().textContent()).toContain('<img src=x onerror=alert(2)>');
    expect(problems()).toEqual([]);
  });

  it('compares two runs chosen in its form, regressions first', async () => {
    const page = await open('/compare');
    await page.locator('#run-a').selectOption(String(fixture.baselineRun));
    await page.locator('#run-b').focus();
    await page.locator('#run-b').selectOption(String(fixture.candidateRun));
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // the Compare button
    await page.waitForURL(/a=\d+&b=\d+/);
    const first = await page.locator('#regressions tbody tr td:first-child').first().textContent();
    expect(first).toBe('synthetic/2/neuron/5');
    expect(problems()).toEqual([]);
  });
});
