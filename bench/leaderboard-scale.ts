/**
 * bench/leaderboard-scale — `leaderboard` and `compare` at a million features (issue 19: leaderboard < 5 s, compare in
 * bounded memory). Builds, once, a database of N features × 2 runs directly in SQL (4 layers; per run one
 * `correlation.all` score a feature with a short explanation, 1 % null scores, 0.1 % failed features; run 2's scores
 * are run 1's moved by a small deterministic amount), then times each command in a process of its own (`autointerp`'s
 * command line run in-process by a fresh tsx process: its start is included) and prints its wall time, its CPU time
 * (user + system: the steadier number on a shared machine) and peak RSS, with the load average. With `--against DIR`
 * (a checkout or `git archive` of other sources, e.g. the commit before a change, with node_modules beside its src/)
 * each command is also run from there, interleaved with this tree's, and the ratios printed.
 *
 *   npx tsx bench/leaderboard-scale.ts [--features 1000000] [--db FILE (default: a file in the OS temp folder, kept)]
 *     [--rounds 2] [--against DIR] [--only leaderboard|compare]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    features: { type: 'string', default: '1000000' },
    db: { type: 'string' },
    rounds: { type: 'string', default: '2' },
    child: { type: 'string' },
    against: { type: 'string' },
    only: { type: 'string' },
    sources: { type: 'string' },
  },
});
const featureCount = Number(flags.features);
if (!(Number.isInteger(featureCount) && featureCount > 0)) throw new Error('--features: a positive integer');
const rounds = Number(flags.rounds);
if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error('--rounds: a positive integer');
const path = flags.db ?? join(tmpdir(), `autointerp-leaderboard-scale-${featureCount}.db`);

const LAYERS = 4;

/** The database, in SQL: recursive CTEs insert every table's rows in one statement each. */
async function build(): Promise<void> {
  const { openDatabase } = await import('../src/store/database.ts');
  const db = openDatabase(path);
  const started = performance.now();
  const now = new Date().toISOString();
  db.transaction(() => {
    for (const run of [1, 2]) {
      db.prepare(
        `INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, finished_at, status)
         VALUES (?, ?, '{}', 'bench', '{"explain":"explain.v1","simulate":"simulate.v1"}', 'bench:explainer', 'bench:simulator', 0, 'synthetic', ?, ?, 'finished')`,
      ).run(run, `bench run ${run}`, now, now);
    }
    const ids = `WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < ${featureCount})`;
    db.exec(
      `${ids} INSERT INTO features (id, model, layer, kind, idx, sae) SELECT id, 'bench', CAST(id % ${LAYERS} AS TEXT), 'neuron', id / ${LAYERS}, '' FROM n`,
    );
    for (const run of [1, 2]) {
      // every 1,000th feature failed; every 100th has a null score ("never activates"); the rest a value in
      // [-0.4, 1.0) with three decimals (many ties), run 2's moved by up to ±0.05
      db.exec(
        `${ids} INSERT INTO run_features (run_id, feature_id, status, stage, reason, finished_at)
         SELECT ${run}, id, CASE WHEN id % 1000 = 0 THEN 'failed' ELSE 'scored' END,
                CASE WHEN id % 1000 = 0 THEN 'simulate' END, CASE WHEN id % 1000 = 0 THEN 'bench failure' END, '${now}' FROM n`,
      );
      db.exec(
        `${ids} INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at)
         SELECT ${run} * ${featureCount} + id, ${run}, id, 'tokens of kind ' || (id % 97), 'bench:explainer', 'explain.v1', 0, '${now}'
         FROM n WHERE id % 1000 <> 0`,
      );
      const base = `round(((id * 48271) % 2147483647) / 2147483647.0 * 1.4 - 0.4, 3)`;
      const value = run === 1 ? base : `round(${base} + ((id * 16807) % 101 - 50) / 1000.0, 3)`;
      db.exec(
        `${ids} INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode)
         SELECT ${run}, id, ${run} * ${featureCount} + id, 'correlation.all',
                CASE WHEN id % 100 = 0 THEN NULL ELSE ${value} END,
                CASE WHEN id % 100 = 0 THEN 'never activates' END, 64, 0, 'prompt-logprobs'
         FROM n WHERE id % 1000 <> 0`,
      );
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  console.log(`built ${featureCount} features × 2 runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Child: one command line run in this process, its output dropped; prints its own peak RSS (MB) as JSON. */
async function child(args: string[]): Promise<void> {
  const main = flags.sources ? join(flags.sources, 'src/cli/main.ts') : '../src/cli/main.ts';
  const { runCli } = (await import(main)) as typeof import('../src/cli/main.ts');
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const code = await runCli([...args, '--db', path]);
  process.stdout.write = write;
  if (code !== 0) throw new Error(`autointerp ${args.join(' ')} exited ${code}`);
  const usage = process.resourceUsage();
  console.log(
    JSON.stringify({ peakRssMb: usage.maxRSS / 1024, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 }),
  );
}

const self = fileURLToPath(import.meta.url);
/** One command in a fresh tsx process: its wall time (process start included) and peak RSS. */
function time(
  args: string[],
  sources?: string,
): { seconds: number; cpuSeconds: number; peakRssMb: number; load: number } {
  const load = loadavg()[0]!;
  const started = performance.now();
  const output = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      self,
      '--child',
      JSON.stringify(args),
      '--db',
      path,
      '--features',
      String(featureCount),
      ...(sources ? ['--sources', resolve(sources)] : []),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const seconds = (performance.now() - started) / 1000;
  const { peakRssMb, cpuSeconds } = JSON.parse(output.trim().split('\n').at(-1)!) as {
    peakRssMb: number;
    cpuSeconds: number;
  };
  return { seconds, cpuSeconds, peakRssMb, load: Math.max(load, loadavg()[0]!) };
}

if (flags.child) {
  await child(JSON.parse(flags.child) as string[]);
} else {
  if (!existsSync(path)) await build();
  else console.log(`reusing ${path}`);
  console.log(`database: ${(statSync(path).size / 2 ** 20).toFixed(0)} MiB, ${featureCount} features × 2 runs`);
  const commands: [string, string[]][] = (
    [
      ['leaderboard', ['leaderboard', '--run', '1']],
      ['compare', ['compare', '1', '2']],
    ] as [string, string[]][]
  ).filter(([name]) => flags.only === undefined || flags.only === name);
  const line = (label: string, result: ReturnType<typeof time>) =>
    `${label.padEnd(28)} ${result.seconds.toFixed(2).padStart(7)} s (CPU ${result.cpuSeconds.toFixed(2).padStart(6)} s)   peak RSS ${result.peakRssMb.toFixed(0).padStart(5)} MB   load average ${result.load.toFixed(1)}`;
  for (let round = 1; round <= rounds; round++) {
    for (const [name, args] of commands) {
      const result = time(args);
      console.log(line(`round ${round}  ${name}`, result));
      if (flags.against) {
        const against = time(args, flags.against);
        console.log(line(`round ${round}  ${name} (--against)`, against));
        console.log(
          `${''.padEnd(28)} this tree / --against: time ${(result.seconds / against.seconds).toFixed(2)}×, CPU ${(result.cpuSeconds / against.cpuSeconds).toFixed(2)}×, peak RSS ${(result.peakRssMb / against.peakRssMb).toFixed(2)}×`,
        );
      }
    }
  }
}
