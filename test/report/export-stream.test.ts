/**
 * Issue 19: `export` streams a page of features at a time. Its bytes are those recorded in
 * test/fixtures/export-golden/ from the exports as they were when each built one string, whatever the page size (a
 * page of 2 crosses page boundaries inside layers, between layers and before the SAE), through the library and
 * through `autointerp export --out FILE`; and the number of features held at once is the page size, not the run's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExportFormat, exportChunks, exportedFeaturePages, exportRun } from '../../src/report/export.ts';
import { jsonWithoutRawControls } from '../../src/report/terminal-text.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { cli } from '../helpers/run-cli.ts';
import { exportFixtureRun } from './export-fixture-run.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-export-stream-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const formats: [ExportFormat, string][] = [
  ['jsonl', 'jsonl'],
  ['csv', 'csv'],
  ['neuronpedia', 'json'],
];
const golden = (extension: string) =>
  readFileSync(new URL(`../fixtures/export-golden/run.${extension}`, import.meta.url), 'utf8');

describe('streamed exports', () => {
  it.each(formats)('%s: the recorded bytes, in one string and in chunks of every page size', (format, extension) => {
    const { store, run } = exportFixtureRun();
    expect(exportRun(store.db, run, format)).toBe(golden(extension));
    for (const pageSize of [1, 2, 3, 1000]) {
      const chunks = [...exportChunks(store.db, run, format, { pageSize })];
      expect(chunks.join(''), `page size ${pageSize}`).toBe(golden(extension));
      // a header (csv) or an opening (neuronpedia) chunk aside, one chunk per page of the 7 features
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(7 / pageSize));
    }
  });

  it.each(formats)('%s: `autointerp export --out FILE` writes the recorded bytes', async (format, extension) => {
    const { store, run } = exportFixtureRun();
    const database = join(directory, `${format}.db`);
    await store.db.backup(database);
    const out = join(directory, `out.${extension}`);
    const result = await cli(['export', '--run', String(run.id), '--format', format, '--out', out, '--db', database], {
      cwd: directory,
    });
    expect(result.code, result.stderr).toBe(0);
    const expected = format === 'csv' ? golden(extension) : jsonWithoutRawControls(golden(extension));
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });

  it('an empty run is an empty document in every format', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const run = store.getRun(syntheticRun(store, { name: 'empty', features: [] }))!;
    expect(exportRun(store.db, run, 'jsonl')).toBe('');
    expect(exportRun(store.db, run, 'neuronpedia')).toBe(`${JSON.stringify([], null, 1)}\n`);
    expect(exportRun(store.db, run, 'csv').split('\r\n')).toHaveLength(2); // the header, then the final line break
  });

  it('holds one page of features at a time, never the whole run', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const run = store.getRun(syntheticRun(store, { name: 'pages', features: featuresWith(250, (i) => i / 250) }))!;
    const sizes = [...exportedFeaturePages(store.db, run, 100)].map((page) => page.length);
    expect(sizes).toEqual([100, 100, 50]);
  });
});
