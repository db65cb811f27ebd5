/**
 * bench/startup — how fast `autointerp` starts: `autointerp --help` and `autointerp leaderboard --db <db>` run through
 * bin/autointerp.js from the build in dist/ and from the source through tsx (AUTOINTERP_FROM_SOURCE=1), interleaved
 * run by run so that both see the same machine load, with a bare `node -e 0` beside them as the floor (a loaded machine
 * slows all three). Prints the median and minimum wall time of each and the ratio source / dist. Needs a current build (`npm run build`); without `--db` it first stores a small demo run (24 features,
 * no ablation) in a temporary database.
 *
 *   npx tsx bench/startup.ts [--runs 10] [--db autointerp.db]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchTarget } from '../bin/launch-target.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const launcher = join(root, 'bin/autointerp.js');
const { values: flags } = parseArgs({ options: { runs: { type: 'string', default: '10' }, db: { type: 'string' } } });
const runs = Number(flags.runs);
if (!Number.isInteger(runs) || runs <= 0) throw new Error(`--runs: expected a positive integer, got "${flags.runs}"`);

const build = launchTarget(root, {});
if (build.entry !== 'dist') {
  process.stderr.write(`bench/startup: no current build to measure (${build.reason}); run \`npm run build\` first\n`);
  process.exit(1);
}

type Entry = 'dist' | 'source';
const environmentOf = (entry: Entry) => {
  const environment: Record<string, string | undefined> = { ...process.env };
  if (entry === 'source') environment.AUTOINTERP_FROM_SOURCE = '1';
  else delete environment.AUTOINTERP_FROM_SOURCE;
  return environment;
};

/** Runs `autointerp args` once (or a bare `node -e 0` for 'node'); its wall time in ms (the command must succeed). */
function timeOnce(entry: Entry | 'node', args: readonly string[]): number {
  const started = performance.now();
  const argv = entry === 'node' ? ['-e', '0'] : [launcher, ...args];
  const result = spawnSync(process.execPath, argv, {
    env: environmentOf(entry === 'node' ? 'dist' : entry),
    encoding: 'utf8',
  });
  const elapsed = performance.now() - started;
  if (result.status !== 0)
    throw new Error(`autointerp ${args.join(' ')} (${entry}) exited ${result.status}: ${result.stderr}`);
  return elapsed;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const scratch = mkdtempSync(join(tmpdir(), 'autointerp-bench-startup-'));
try {
  let database = flags.db;
  if (!database) {
    database = join(scratch, 'demo.db');
    process.stderr.write('storing a demo run of 24 features (no ablation) to read the leaderboard of…\n');
    const demo = spawnSync(
      process.execPath,
      [launcher, 'run', '--demo', '--limit', '24', '--no-ablation', '--no-progress', '--db', database],
      {
        env: environmentOf('dist'),
        encoding: 'utf8',
      },
    );
    if (demo.status !== 0) throw new Error(`the demo run failed (exit ${demo.status}): ${demo.stderr}`);
  }
  const commands: { label: string; args: string[] }[] = [
    { label: 'autointerp --help', args: ['--help'] },
    { label: 'autointerp leaderboard', args: ['leaderboard', '--db', database] },
  ];
  console.log(`start-up, ${runs} runs each, interleaved (wall ms; target: dist < 500 ms)`);
  for (const { label, args } of commands) {
    timeOnce('dist', args); // warm the file cache for both
    timeOnce('source', args);
    const times: Record<Entry | 'node', number[]> = { dist: [], source: [], node: [] };
    for (let run = 0; run < runs; run += 1) {
      times.dist.push(timeOnce('dist', args));
      times.source.push(timeOnce('source', args));
      times.node.push(timeOnce('node', []));
    }
    const line = (entry: Entry | 'node') =>
      `${entry} median ${median(times[entry]).toFixed(0)} min ${Math.min(...times[entry]).toFixed(0)}`;
    console.log(
      `${label.padEnd(24)} ${line('dist')} · ${line('source')} (tsx) · ${line('node')} (bare node -e 0) · source / dist ${(median(times.source) / median(times.dist)).toFixed(1)}×`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
