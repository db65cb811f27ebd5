/**
 * The report commands as users run them (in-process through test/helpers/run-cli.ts): regress exit codes 0 / 1 / 2 with JUnit and
 * JSON, compare, tag, leaderboard filters as CSV, report and export files. Runs are planted in-process first.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { type CliResult, cli as runCli } from '../helpers/run-cli.ts';
import { featuresWith, syntheticRun } from '../report/synthetic-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-report-cli-'));
const db = join(directory, 'runs.db');

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: directory, env: { AUTOINTERP_DB: db } });
}

beforeAll(() => {
  const store = new ResultStore(openDatabase(db));
  const random = mulberry32(7);
  const truth = Array.from({ length: 120 }, () => 0.6 + 0.2 * randomGaussian(random));
  const noisy = (shift: number) => featuresWith(120, (i) => truth[i]! + shift + 0.04 * randomGaussian(random));
  syntheticRun(store, { name: 'base', features: noisy(0) });
  syntheticRun(store, { name: 'noisy', features: noisy(0) });
  syntheticRun(store, { name: 'dropped', features: noisy(-0.05), explainer: 'mock:worse-explainer' });
  syntheticRun(store, {
    name: 'other-sim',
    features: noisy(0),
    simulator: 'openai:gpt-4o-mini',
    mode: 'chat-logprobs',
  });
  syntheticRun(store, {
    name: 'disjoint',
    features: featuresWith(5, () => 0.5).map((f) => ({ ...f, index: f.index + 1000 })),
  });
  store.db.close();
  writeFileSync(
    join(directory, 'garbage.db'),
    'this is not a database, it is a text file long enough to be read'.repeat(200),
  );
});

describe('autointerp regress / compare / tag / leaderboard / report / export', () => {
  it('regress: 1 on a planted drop (JUnit failed), 0 on noise only (JSON), both after tagging the baseline', async () => {
    const tag = await cli(['tag', 'base', 'baseline', 'nightly']);
    expect(tag).toMatchObject({ code: 0, stdout: 'run 1 "base": baseline, nightly\n' });
    const junit = join(directory, 'regress.xml');
    const [dropped, noisy] = await Promise.all([
      cli(['regress', '--baseline', 'tag:baseline', '--candidate', 'dropped', '--max-drop', '0.02', '--junit', junit]),
      cli(['regress', '--baseline', 'tag:baseline', '--candidate', 'noisy', '--max-drop', '0.02', '--json']),
    ]);
    expect(dropped.code, dropped.stderr).toBe(1);
    expect(dropped.stdout.trimEnd().split('\n').at(-1)).toMatch(
      /^REGRESSION: correlation.all 0\.\d{3} → 0\.\d{3}; Δ mean −0\.0\d{2}, 95% CI \[−0\.\d{3}, −0\.\d{3}\], n = 120: drop 0\.0\d+ exceeds max-drop 0.02 and the CI is below 0$/,
    );
    expect(dropped.stdout).toMatch(/most worsened:/);
    expect(readFileSync(junit, 'utf8')).toMatch(
      /<testsuites name="autointerp regress" tests="1" failures="1" errors="0">[\s\S]*<failure message="regression: Δ mean −/,
    );
    expect(noisy.code, noisy.stderr).toBe(0);
    const json = JSON.parse(noisy.stdout) as {
      verdict: string;
      exitCode: number;
      rule: string;
      n: number;
      ci: { low: number; high: number };
      comparison: { paired: number };
    };
    expect(json).toMatchObject({
      verdict: 'pass',
      exitCode: 0,
      rule: 'significant',
      n: 120,
      comparison: { paired: 120 },
    });
    expect(json.ci.low).toBeLessThan(0.02);
  });

  it('regress: 2 for an unknown run, no shared features, a --strict refusal and a crash; a WARNING line without --strict', async () => {
    const [unknown, disjoint, strict, warned, crash] = await Promise.all([
      cli(['regress', '--baseline', 'base', '--candidate', 'nosuch']),
      cli(['regress', '--baseline', 'base', '--candidate', 'disjoint']),
      cli(['regress', '--baseline', 'base', '--candidate', 'other-sim', '--strict']),
      cli(['regress', '--baseline', 'base', '--candidate', 'other-sim']),
      cli(['regress', '--baseline', '1', '--candidate', '2', '--db', join(directory, 'garbage.db')]),
    ]);
    expect(unknown).toMatchObject({ code: 2, stderr: `autointerp: no run "nosuch" in ${db}\n` });
    expect(disjoint.code).toBe(2);
    expect(disjoint.stderr).toMatch(
      /^autointerp: runs 1 and 5 share no feature with a defined "correlation.all" score \(125 features in either run\)\n$/,
    );
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(
      /^WARNING: different simulators .*\nWARNING: different simulation modes .*\nautointerp: --strict: the runs measured differently \(simulator, simulation-mode\); not comparing\n$/,
    );
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(
      /^WARNING: different simulators \(baseline mock:simulator; candidate openai:gpt-4o-mini\)/,
    );
    expect(warned.stdout).not.toMatch(/WARNING/); // printed once, on stderr
    expect(warned.stdout).toMatch(/\nPASS: /);
    expect(crash.code).toBe(2);
    expect(crash.stderr).toMatch(/^autointerp: cannot read database .*garbage\.db: file is not a database\n$/); // one line naming the file
    expect(crash.stdout).toBe('');
  });

  it('compare, leaderboard filters as CSV, the report file and a Neuronpedia export', async () => {
    const report = join(directory, 'out', 'report.html');
    const neuronpedia = join(directory, 'out', 'features.json');
    mkdirSync(join(directory, 'out'), { recursive: true }); // output folders are never created for the user
    const [compare, board, conflict, html, exported, help] = await Promise.all([
      cli(['compare', 'base', 'dropped', '--top', '2']),
      cli(['leaderboard', '--all', '--csv', '--explainer', 'mock:*', '--simulator', 'mock:simulator', '--layer', '1']),
      cli(['leaderboard', '--json', '--csv']),
      cli(['report', '--run', 'dropped', '--out', report, '--records', '1']),
      cli(['export', '--run', 'tag:nightly', '--format', 'neuronpedia', '--out', neuronpedia]),
      cli(['regress', '--help']),
    ]);
    expect(compare.code).toBe(0);
    expect(compare.stdout).toMatch(/paired features: 120 of 120/);
    expect(compare.stdout).toMatch(
      /baseline: {2}run 1 "base" \(mock:explainer → mock:simulator\)\n {2}candidate: run 3 "dropped" \(mock:worse-explainer → mock:simulator\)/,
    );
    expect(compare.stdout.match(/synthetic\/\d\/neuron\/\d+/g)?.length).toBe(4); // 2 most worsened + 2 most improved

    expect(board.code, board.stderr).toBe(0);
    const lines = board.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^run_id,run_name,explainer,simulator,/);
    // runs 1–3 and 5 match the explainer glob and the simulator (run 4 has another simulator)
    expect(lines.slice(1).map((line) => line.split(',').slice(0, 2).join(','))).toEqual([
      '1,base',
      '2,noisy',
      '3,dropped',
      '5,disjoint',
    ]);
    expect(lines.slice(1).every((line) => line.split(',')[7] === '1')).toBe(true); // the layer column

    expect(conflict).toMatchObject({ code: 2, stderr: 'autointerp: use either --json or --csv, not both\n' });

    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(report, 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toMatch(/<h1>dropped<\/h1>/);

    expect(exported.code, exported.stderr).toBe(0);
    const features = JSON.parse(readFileSync(neuronpedia, 'utf8')) as {
      modelId: string;
      index: string;
      explanations: { description: string }[];
    }[];
    expect(features).toHaveLength(120);
    expect(features[0]).toMatchObject({
      modelId: 'synthetic',
      layer: '0',
      index: '0',
      explanations: [{ description: 'tokens like t0' }],
    });

    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/significant \(default\) {2}REGRESSION when mean d < −max-drop AND CI upper bound < 0/);
    expect(help.stdout).toMatch(/Exit codes: 0 pass · 1 regression · 2 usage or data error/);
  });
});
