/**
 * `autointerp run --demo` (what `npm start` runs) ends by saying how to open the viewer on the database it wrote.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';

it('the demo run ends with the command that opens the viewer on its database', async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'autointerp-serve-hint-')), 'demo.db');
  const result = await cli(['run', '--demo', '--limit', '1', '--no-ablation', '--no-progress', '--db', db]);
  expect(result.code).toBe(0);
  expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(
    `browse these results: autointerp serve --db ${JSON.stringify(db)}, then open http://127.0.0.1:8321/`,
  );
});
