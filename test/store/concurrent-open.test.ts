import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { launchTarget } from '../../bin/launch-target.js';
import { migrations } from '../../src/store/migrations.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-concurrent-open-'));
// The children load the store as `autointerp` would: from the build in dist/ when it is current (no tsx to start), else
// from the sources through tsx.
const fromBuild = launchTarget(root, process.env).entry === 'dist';
const databaseModule = join(root, fromBuild ? 'dist/store/database.js' : 'src/store/database.ts');
const loader = fromBuild ? [] : ['--import', 'tsx'];
const processes = 6;
const trials = 3; // the code before the fix failed in about 2 of 3 trials

const databaseOf = (trial: number) => join(directory, `new-${trial}.db`);
const goFileOf = (trial: number) => join(directory, `go-${trial}`);

// Each child takes part in every trial (one process start per child, not per trial): it says "ready <trial>", then
// opens that trial's new database once its "go" file appears (a barrier: all of them are started, loaded and waiting),
// so their migrations overlap.
const script = join(directory, 'open-at-once.mjs');
writeFileSync(
  script,
  `import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from ${JSON.stringify(databaseModule)};
const [folder, trials] = process.argv.slice(2);
openDatabase(':memory:').close(); // loads the native addon now, not after the barrier
for (let trial = 0; trial < Number(trials); trial++) {
  const goFile = join(folder, 'go-' + trial);
  process.stdout.write('ready ' + trial + '\\n');
  for (let spins = 0; !existsSync(goFile) && spins < 200_000; spins++) await new Promise((resolve) => setTimeout(resolve, 1));
  openDatabase(join(folder, 'new-' + trial + '.db')).close();
}
process.stdout.write('ready ' + trials + '\\n');
`,
);

interface Child {
  /** Resolves once the child says "ready <trial>" (it opened the databases of the trials before), or exits. */
  ready(trial: number): Promise<void>;
  exited: Promise<{ code: number | null; stderr: string }>;
}

function startChild(): Child {
  const child = spawn(process.execPath, [...loader, script, directory, String(trials)], { cwd: root });
  let stderr = '';
  let stdout = '';
  let hasExited = false;
  const waiting: { line: string; resolve: () => void }[] = [];
  const wake = () => {
    for (const waiter of [...waiting])
      if (hasExited || stdout.split('\n').includes(waiter.line)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve();
      }
  };
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    wake();
  });
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => {
      hasExited = true;
      wake();
      resolve({ code, stderr });
    }),
  );
  const ready = (trial: number) =>
    new Promise<void>((resolve) => {
      waiting.push({ line: `ready ${trial}`, resolve });
      wake();
    });
  return { ready, exited };
}

describe('several processes opening one new database at once', () => {
  it(`${processes} processes × ${trials} trials: every one opens it, the schema is migrated once`, async () => {
    const children = Array.from({ length: processes }, () => startChild());
    for (let trial = 0; trial < trials; trial++) {
      await Promise.all(children.map((child) => child.ready(trial)));
      expect(existsSync(databaseOf(trial))).toBe(false);
      writeFileSync(goFileOf(trial), '');
      await Promise.all(children.map((child) => child.ready(trial + 1)));
      const database = new Database(databaseOf(trial), { readonly: true });
      expect(database.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect(
        database.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).get(),
      ).toEqual({ n: 1 });
      database.close();
    }
    const outcomes = await Promise.all(children.map((child) => child.exited));
    for (const outcome of outcomes) expect(outcome, outcome.stderr).toEqual({ code: 0, stderr: '' });
  }, 120_000);
});
