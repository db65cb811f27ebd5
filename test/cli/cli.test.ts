import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli as runCli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-cli-'));

/** `autointerp <args>` in-process, in the test folder. */
function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { cwd: directory, env });
}

describe('autointerp CLI', () => {
  // The demo end to end (progress, leaderboard, a finished run, a score for every active feature): test/cli/demo-run.test.ts,
  // on the one whole demo run the demo's checks share.
  it('prints help for every command that `autointerp --help` lists', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]+)\b/gm)]
      .map((match) => match[1]!)
      .filter((name) => name !== 'help');
    for (const expected of [
      'run',
      'extract',
      'train-sae',
      'sae-metrics',
      'steer',
      'import-delphi',
      'merge',
      'leaderboard',
      'serve-fake',
    ])
      expect(commands).toContain(expected);
    const helps = await Promise.all(
      commands.map(async (command) => ({ command, ...(await cli([command, '--help'])) })),
    );
    for (const { command, code, stdout } of helps) {
      expect(code, command).toBe(0);
      expect(stdout).toMatch(new RegExp(`Usage: autointerp ${command}`));
    }
  }, 120_000);

  it('reports bad input in one line naming the file and record, exits 2, and writes no run', async () => {
    const bad = join(directory, 'bad.jsonl');
    writeFileSync(
      bad,
      '{"id": {"model": "m", "layer": 0, "kind": "neuron", "index": 0}, "top": [{"tokens": ["a"], "activations": [1, 2]}], "random": [], "stats": {"mean": 0, "variance": 0, "skewness": null, "kurtosis": null, "maxActivation": 1, "density": 0.1}}\n',
    );
    const db = join(directory, 'bad.db');
    const result = await cli(['run', '--records', bad, '--db', db, '--no-progress']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `autointerp: ${bad} (line 1, top[0]): tokens and activations differ in length`,
    ]);
    expect(existsSync(db)).toBe(false); // not even an empty database file
  });

  it('names the flag in a bad value, a records path that is no file, and an output folder that does not exist (exit 2, nothing created)', async () => {
    const db = join(directory, 'refused.db');
    const rpm = await cli(['run', '--rpm', '-1', '--db', db]);
    expect(rpm).toMatchObject({ code: 2, stderr: 'autointerp: --rpm: expected a positive number, got "-1"\n' });
    const device = await cli(['run', '--records', '/dev/null', '--db', db, '--no-progress']);
    expect(device.code).toBe(2);
    expect(device.stderr).toMatch(/^autointerp: \/dev\/null: not a regular file or directory/);
    const report = await cli(['report', '--out', join(directory, 'no', 'such', 'r.html'), '--db', db]);
    expect(report).toMatchObject({
      code: 2,
      stderr: `autointerp: --out: the folder ${join(directory, 'no', 'such')} does not exist (create it first)\n`,
    });
    expect(existsSync(join(directory, 'no'))).toBe(false);
  });

  it('resumes `--resume latest`, as every command that takes a run accepts latest', async () => {
    const db = join(directory, 'latest.db');
    const records = join(directory, 'two.jsonl');
    const feature = (index: number) =>
      `{"id": {"model": "m", "layer": 0, "kind": "neuron", "index": ${index}}, "top": [{"tokens": ["a", " cat", "b"], "activations": [0, 5, 0]}, {"tokens": [" cat", "x"], "activations": [4, 0]}, {"tokens": ["y", " cat"], "activations": [0, 3]}], "random": [{"tokens": ["c", "d"], "activations": [0, 0]}], "stats": {"mean": 0, "variance": 0, "skewness": null, "kurtosis": null, "maxActivation": 5, "density": 0.1}}`;
    writeFileSync(records, `${feature(0)}\n${feature(1)}\n`);
    const first = await cli(['run', '--records', records, '--no-ablation', '--no-progress', '--db', db]);
    expect(first.code, first.stderr).toBe(0);
    const database = new Database(db);
    database.prepare("UPDATE runs SET status = 'interrupted'").run(); // as a Ctrl+C leaves it
    database.close();
    const resumed = await cli(['run', '--resume', 'latest', '--no-progress', '--db', db]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/^run 1 \(resumed\): 2 features, 2 already done/m);
  });

  it('prints a token holding an escape sequence (OSC 52, a clipboard write) escaped, never raw', async () => {
    const records = join(directory, 'osc52.jsonl');
    const token = '\u001b]52;c;cm0gLXJmIH4=\u0007';
    const stats =
      '"stats": {"mean": 0, "variance": 0, "skewness": null, "kurtosis": null, "maxActivation": 5, "density": 0.1}';
    writeFileSync(
      records,
      `{"id": {"model": "m", "layer": 0, "kind": "neuron", "index": 0}, "top": [{"tokens": ["a", ${JSON.stringify(token)}], "activations": [0, 5]}], "random": [], ${stats}}\n`,
    );
    const explained = await cli(['explain', '--records', records]);
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/\\x1b\]52;c;.*\\x07/);
    expect(explained.stdout).not.toMatch(/[\u001b\u0007]/);
  });

  it('rejects unknown options and providers with exit code 2', async () => {
    expect((await cli(['run', '--bogus'])).code).toBe(2);
    const provider = await cli([
      'run',
      '--explainer',
      'nosuch:model',
      '--db',
      join(directory, 'x.db'),
      '--no-progress',
    ]);
    expect(provider.code).toBe(2);
    expect(provider.stderr).toMatch(/nosuch/);
  });
});
