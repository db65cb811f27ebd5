/**
 * A new user's walk through the README (scripts/readme-walk.ts): every command of its ```sh blocks is known to the
 * walk (run, or skipped with a reason), and the quick ones — leaderboard, compare, report, exports — run as written,
 * with `autointerp` on the PATH, against a database seeded by a small offline run. The slow ones (the demo, the fake
 * server, extract, train-sae, steer) are walked by `npx tsx scripts/readme-walk.ts --slow`.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeCommands, ruleFor, walkReadme, WALK_RULES } from '../scripts/readme-walk.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README walk', () => {
  it('reads the commands of ```sh blocks only: continuation lines joined, trailing comments dropped', () => {
    const markdown = [
      '```sh',
      'a --x 1 \\',
      '  --y 2      # comment',
      '',
      'b "# not a comment"',
      '```',
      '```yaml',
      'c',
      '```',
      '```sh',
      'd &',
      '```',
    ].join('\n');
    expect(readmeCommands(markdown)).toEqual([
      { line: 2, block: 0, command: 'a --x 1 --y 2' },
      { line: 5, block: 0, command: 'b "# not a comment"' },
      { line: 11, block: 1, command: 'd &' },
    ]);
  });

  it('knows every README command, and every rule still matches one', () => {
    const commands = readmeCommands(readme).map((c) => c.command);
    expect(commands.length).toBeGreaterThan(20);
    expect(commands.filter((command) => !ruleFor(command))).toEqual([]);
    expect(
      WALK_RULES.filter((rule) => !commands.some((command) => rule.pattern.test(command))).map(
        (rule) => rule.pattern.source,
      ),
    ).toEqual([]);
  });

  it('runs the quick commands as written, with exit 0 and the files they promise', () => {
    const directory = mkdtempSync(join(tmpdir(), 'autointerp-readme-walk-'));
    const steps = walkReadme(readme, {
      tiers: ['quick'],
      directory,
      seed: 'autointerp run --records "$AUTOINTERP_REPOSITORY"/data/demo/records/planted.jsonl --limit 6 --no-progress',
      blockTimeoutMs: 120_000,
    });
    const failed = steps.filter((step) => step.status === 'failed');
    expect(
      failed.map((step) => `README:${step.line} ${step.command} (exit ${step.exitCode}): ${step.output?.slice(-600)}`),
    ).toEqual([]);
    const ran = steps
      .filter((step) => step.status === 'ok')
      .map((step) => step.command.split(' ').slice(0, 2).join(' '));
    expect(ran).toEqual([
      'autointerp leaderboard',
      'autointerp compare',
      'autointerp report',
      'autointerp export',
      'autointerp export',
      'autointerp export',
    ]);
    for (const file of ['board.csv', 'report.html', 'explanations.jsonl', 'scores.csv', 'neuronpedia.json'])
      expect(existsSync(join(directory, file)), file).toBe(true);
    expect(readFileSync(join(directory, 'board.csv'), 'utf8').split('\n')[0]).toMatch(/^run_id,/);
    expect(steps.filter((step) => step.status === 'skipped').every((step) => step.note)).toBe(true);
  }, 180_000);
});
