import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-concurrent-open-'));
const databaseModule = fileURLToPath(new URL('../../src/store/database.ts', import.meta.url));
const processes = 6;
const trials = 3; // the code before the fix failed in about 2 of 3 trials

// Each child opens the database once a "go" file appears (a barrier: all of them are started, loaded and waiting), so
// their migrations overlap.
const script = join(directory, 'open-at-once.mts');
writeFileSync(
  script,
  `import { existsSync } from 'node:fs';
import { openDatabase } from ${JSON.stringify(databaseModule)};
const [databasePath, goFile] = process.argv.slice(2);
openDatabase(':memory:').close(); // loads the native addon now, not after the barrier
process.stdout.write('ready\\n');
for (let spins = 0; !existsSync(goFile) && spins < 200_000; spins++) await new Promise((resolve) => setTimeout(resolve, 1));
openDatabase(databasePath).close();
`,
);

interface Child {
  ready: Promise<void>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function startChild(databasePath: string, goFile: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, databasePath, goFile], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString('utf8').includes('ready') && resolve());
    child.on('exit', () => resolve());
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return { ready, exited };
}

describe('several processes opening one new database at once', () => {
  it(`${processes} processes × ${trials} trials: every one opens it, the schema is migrated once`, async () => {
    for (let trial = 0; trial < trials; trial++) {
      const databasePath = join(directory, `new-${trial}.db`);
      const goFile = join(directory, `go-${trial}`);
      const children = Array.from({ length: processes }, () => startChild(databasePath, goFile));
      await Promise.all(children.map((child) => child.ready));
      expect(existsSync(databasePath)).toBe(false);
      writeFileSync(goFile, '');
      const outcomes = await Promise.all(children.map((child) => child.exited));
      for (const outcome of outcomes) expect(outcome, outcome.stderr).toEqual({ code: 0, stderr: '' });
      const database = new Database(databasePath, { readonly: true });
      expect(database.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect(
        database.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).get(),
      ).toEqual({ n: 1 });
      database.close();
    }
  }, 120_000);
});
