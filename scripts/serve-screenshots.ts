/**
 * scripts/serve-screenshots — the README's screenshots of `autointerp serve`: starts the viewer on a database (the
 * demo run's: `npm start` first), opens each page in headless Chromium and saves docs/serve-*.png. The compare
 * picture is test/serve/viewer-browser.test.ts's (test-artifacts/serve/compare.png): runs that differ.
 *
 *   npx tsx scripts/serve-screenshots.ts [autointerp.db]
 */
import { join } from 'node:path';
import { startViewer } from '../src/serve/viewer-server.ts';
import { defaultModelDir } from '../src/cli/extract.ts';
import { launchChromium } from '../test/report/chromium.ts';

const databasePath = process.argv[2] ?? 'autointerp.db';
const docs = new URL('../docs', import.meta.url).pathname;
const viewer = await startViewer({ databasePath, port: 0, modelDirectories: [defaultModelDir] });
const runId = (viewer.db.prepare('SELECT MAX(id) AS id FROM runs').get() as { id: number }).id;
// an SAE latent with a good score: its page has heat maps and output tokens
const feature = viewer.db
  .prepare(
    `SELECT s.feature_id AS id FROM scores s JOIN features f ON f.id = s.feature_id
     WHERE s.run_id = ? AND s.kind = 'correlation.all' AND f.kind = 'sae' ORDER BY s.value DESC LIMIT 1`,
  )
  .get(runId) as { id: number };
const pages: [string, string, number][] = [
  ['serve-runs', '/', 400],
  ['serve-run', `/run/${runId}`, 1100],
  ['serve-search', `/search?run=${runId}&q=tokens&limit=12`, 900],
  ['serve-feature', `/feature/${feature.id}`, 1500],
  ['serve-steer', `/steer?feature=${feature.id}&value=40&prompt=The+old`, 500],
];
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  for (const [name, path, height] of pages) {
    await page.setViewportSize({ width: 1280, height });
    await page.goto(`${viewer.url}${path}`);
    await page.screenshot({ path: join(docs, `${name}.png`) });
    console.log(`docs/${name}.png ← ${path}`);
  }
} finally {
  await browser.close();
  await viewer.close();
}
