import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { perfectProviders, testPrompts } from '../helpers/pipeline-mocks.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-save-features-'));

describe('saving a run: features done close together share a commit', () => {
  it('a feature is saved when done and committed with its group; every one is committed when the run ends', async () => {
    const source = writeFeaturesJsonl(join(directory, 'grouped.jsonl'), syntheticFeatures(8, { dead: false }));
    const path = join(directory, 'grouped.db');
    const store = new ResultStore(openDatabase(path));
    const reader = new Database(path, { readonly: true });
    const committed = () => (reader.prepare('SELECT count(*) AS n FROM run_features').get() as { n: number }).n;
    const seenByOthers: number[] = [];
    const tempStore: unknown[] = [];
    const summary = await runPipeline(
      { source, concurrency: 2, ...testPrompts },
      {
        store,
        ...perfectProviders(),
        events: {
          // Called right after the save, before the group's timer can fire: another connection does not see it yet.
          onFeatureDone: () => {
            if (seenByOthers.length === 0) seenByOthers.push(committed());
            tempStore.push(store.db.pragma('temp_store', { simple: true }));
          },
        },
      },
    );
    expect(summary.scored).toBe(8);
    expect(seenByOthers).toEqual([0]); // with a commit per feature, the first was visible at once
    expect(committed()).toBe(8);
    expect(store.db.inTransaction).toBe(false);
    // The savepoints' journals are kept in memory during the run (2 = MEMORY), the connection's setting given back after.
    expect(new Set(tempStore)).toEqual(new Set([2]));
    expect(store.db.pragma('temp_store', { simple: true })).toBe(0);
    reader.close();
  });
});
