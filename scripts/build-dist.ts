/**
 * @module scripts/build-dist — compiles src/ to JavaScript in dist/ (`tsc -p tsconfig.build.json`), so that
 * `autointerp` starts without transpiling TypeScript; `npm run build`, and the `prepare` script runs it on
 * `npm install` / `npm ci`. dist/ is built afresh in a folder beside it, then swapped in by two renames, so a process
 * running the old build (a test's spawned CLI importing a module lazily, a user's run) never finds dist/ half-built or
 * missing a file; its stamp (bin/launch-target.js) gets the time the build started, so a source file edited during the
 * build leaves it stale. A failed build removes dist/ (the launcher then runs the source through tsx) and exits 1,
 * loudly; with no TypeScript installed (a production install) it says so and builds nothing.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildStampFile } from '../bin/launch-target.js';
import { replaceFolder } from './replace-folder.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const startedAt = new Date();

let compiler: string;
try {
  compiler = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  process.stderr.write(
    'autointerp build: TypeScript is not installed (a production install?): no dist/ built; autointerp runs from src/ through tsx\n',
  );
  process.exit(0);
}

// Built beside dist/ (a name of this process's own: two builds at once do not share a folder), swapped in when done.
const next = join(root, `dist.building-${process.pid}`);
const previous = join(root, `dist.previous-${process.pid}`);
rmSync(next, { recursive: true, force: true });
const build = spawnSync(process.execPath, [compiler, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) {
  rmSync(next, { recursive: true, force: true });
  rmSync(dist, { recursive: true, force: true });
  const why = build.error
    ? build.error.message
    : build.signal
      ? `killed by ${build.signal}`
      : `tsc exited with ${build.status}`;
  process.stderr.write(
    `autointerp build: compiling src/ to dist/ failed (${why}; errors above); dist/ removed, autointerp runs from src/ through tsx\n`,
  );
  process.exit(1);
}
const stamp = join(next, relative('dist', buildStampFile));
writeFileSync(stamp, `${JSON.stringify({ builtFrom: 'src', startedAt: startedAt.toISOString() })}\n`);
utimesSync(stamp, startedAt, startedAt);
// The swap: dist/ is missing only between the two renames (a launcher starting then runs the sources, never a half
// build); a process that loaded the old build keeps its open files, and the paths it imports later exist again.
replaceFolder(next, dist, previous);
const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(1);
process.stdout.write(`autointerp build: dist/ compiled from src/ in ${seconds} s\n`);
