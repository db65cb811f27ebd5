/**
 * The viewer caches leaderboards until the database changes: a score another process writes while the viewer runs
 * shows on the next view of the run page.
 */
import { expect, it } from 'vitest';
import { startViewer } from '../../src/serve/viewer-server.ts';
import { openDatabase } from '../../src/store/database.ts';
import { buildViewerFixture } from './viewer-fixture.ts';

it('recomputes a cached leaderboard once another connection commits', async () => {
  const fixture = buildViewerFixture();
  const viewer = await startViewer({ databasePath: fixture.path, port: 0 });
  try {
    const page = async () => (await fetch(`${viewer.url}/run/${fixture.baselineRun}`)).text();
    const before = await page();
    expect(before).not.toContain('#4 0.99');
    expect(await page()).toBe(before); // cached: the same answer
    const writer = openDatabase(fixture.path);
    writer
      .prepare("UPDATE scores SET value = 0.99 WHERE run_id = ? AND feature_id = ? AND kind = 'correlation.all'")
      .run(fixture.baselineRun, fixture.featureId(4));
    writer.close();
    expect(await page()).toContain('#4 0.99'); // feature 4 (layer 1) is now that layer's best
  } finally {
    await viewer.close();
  }
});
