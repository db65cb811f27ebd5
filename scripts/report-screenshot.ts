/**
 * @module scripts/report-screenshot — the README's picture of the HTML report: opens a report file in headless
 * Chromium (the browser the tests use: test/report/chromium.ts) and saves the top of the page as a PNG.
 *
 * The picture in docs/ is of the demo run:
 *   AUTOINTERP_DB=/tmp/demo.db npm start
 *   npx autointerp report --db /tmp/demo.db --out /tmp/demo-report.html
 *   npx tsx scripts/report-screenshot.ts /tmp/demo-report.html docs/report-screenshot.png
 */
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../test/report/chromium.ts';

const [report, out, heightText = '2900'] = process.argv.slice(2);
if (!report || !out) {
  console.error('usage: npx tsx scripts/report-screenshot.ts REPORT.html OUT.png [HEIGHT]');
  process.exit(2);
}
const width = 1280;
const height = Number(heightText);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(pathToFileURL(report).href);
  await page.waitForSelector('body[data-ready="true"]');
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width, height } });
  console.log(`${out}: ${width}×${height} of ${report}`);
} finally {
  await browser.close();
}
