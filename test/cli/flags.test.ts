/**
 * Flags as commander parses them, in-process: errors that name the flag, renamed flags with their old spelling,
 * help texts, output folders that must exist, and the terminal width tables are fitted to.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/errors.ts';
import { registerCompareCommand } from '../../src/cli/compare.ts';
import { registerExplainCommand } from '../../src/cli/explain.ts';
import { registerExtractCommand } from '../../src/cli/extract.ts';
import { registerLeaderboardCommand } from '../../src/cli/leaderboard.ts';
import { registerRunCommand } from '../../src/cli/run.ts';
import { registerSimulateAndScoreCommands } from '../../src/cli/score.ts';
import { registerTrainSaeCommands } from '../../src/cli/train-sae.ts';
import {
  deprecatedOption,
  nameFlagsInErrors,
  positiveInteger,
  renamedOptionValue,
  requireOutputFolder,
  terminalWidth,
} from '../../src/cli/shared-options.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-flags-'));

function program(): Command {
  const root = new Command().name('autointerp').exitOverride();
  registerRunCommand(root);
  registerLeaderboardCommand(root);
  registerCompareCommand(root);
  registerExplainCommand(root);
  registerSimulateAndScoreCommands(root);
  registerExtractCommand(root);
  registerTrainSaeCommands(root);
  for (const command of root.commands) command.exitOverride();
  return nameFlagsInErrors(root);
}

/** The error parsing `args` throws (the actions never run: every case fails while parsing). */
async function parseError(args: string[]): Promise<unknown> {
  return program()
    .parseAsync(args, { from: 'user' })
    .then(
      () => new Error('parsed'),
      (error: unknown) => error,
    );
}

const help = (name: string) =>
  program()
    .commands.find((command) => command.name() === name)!
    .helpInformation();

afterEach(() => vi.restoreAllMocks());

describe('flag errors', () => {
  it('name the flag and the value, as one usage error (exit 2), for parsers and choices alike', async () => {
    const cases: [string[], string][] = [
      [['run', '--rpm', '-1'], '--rpm: expected a positive number, got "-1"'],
      [['run', '--concurrency', '0'], '--concurrency: expected a positive integer, got "0"'],
      [['run', '--max-cost', 'lots'], '--max-cost: expected a non-negative number, got "lots"'],
      [
        ['run', '--simulation-mode', 'guess'],
        '--simulation-mode: expected one of prompt-logprobs, chat-logprobs, sampled, got "guess"',
      ],
      [['leaderboard', '--top', '0'], '--top: expected a positive integer, got "0"'],
      [['compare', 'a', 'b', '--level', '2'], '--level: expected a level between 0 and 1 (e.g. 0.95), got "2"'],
      [['run', '--shard', '3/3'], '--shard expects i/n with 0 ≤ i < n (e.g. 0/4), got "3/3"'],
    ];
    for (const [args, message] of cases) {
      const error = await parseError(args);
      expect(error, args.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message, args.join(' ')).toBe(message);
    }
  });
});

describe('renamed flags', () => {
  it('extract --batch-sequences and train-sae --batch-size; --batch stays out of their help', () => {
    expect(help('extract')).toMatch(/--batch-sequences <n> +sequences per forward pass \(default: 16\)/);
    expect(help('train-sae')).toMatch(/--batch-size <n> +rows per step \(default: 1024\)/);
    for (const name of ['extract', 'train-sae']) expect(help(name)).not.toMatch(/--batch </);
  });

  it('the old spelling still works with one deprecation line on stderr; both spellings at once are refused', () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const values: number[] = [];
    const make = () =>
      new Command('extract')
        .exitOverride()
        .option('--batch-sequences <n>', 'sequences per forward pass', positiveInteger, 16)
        .addOption(deprecatedOption('--batch <n>', '--batch-sequences', positiveInteger))
        .action((_flags: unknown, command: Command) => {
          values.push(
            renamedOptionValue<number>(command, '--batch', '--batch-sequences', '--batch means the Batch API of `run`'),
          );
        });
    make().parse(['--batch-sequences', '8'], { from: 'user' });
    make().parse([], { from: 'user' });
    expect(stderr).not.toHaveBeenCalled();
    make().parse(['--batch', '4'], { from: 'user' });
    expect(values).toEqual([8, 16, 4]);
    expect(stderr.mock.calls.map(([text]) => text)).toEqual([
      'autointerp extract: --batch is deprecated (--batch means the Batch API of `run`); use --batch-sequences\n',
    ]);
    expect(() => make().parse(['--batch', '4', '--batch-sequences', '8'], { from: 'user' })).toThrow(
      '--batch is the old spelling of --batch-sequences; give --batch-sequences alone',
    );
  });
});

describe('help texts', () => {
  it('explain, simulate and score list the anthropic provider', () => {
    expect(help('explain')).toMatch(/anthropic:<model>/);
    expect(help('simulate')).toMatch(/anthropic:<model>/);
    expect(help('score')).toMatch(/anthropic:<model>/);
  });

  it('leaderboard --top states its default once; --wide is listed', () => {
    const text = help('leaderboard').replace(/\s+/g, ' ');
    expect(text).toMatch(/--top <n> best and worst features listed per row in --json \(default: 3\)/);
    expect(text).not.toMatch(/default 3/);
    expect(text).toMatch(/--wide /);
  });
});

describe('output files', () => {
  it('are refused, naming the flag and the folder, when their folder does not exist; nothing is created', () => {
    expect(() => requireOutputFolder('/no/such/dir/r.html', '--out')).toThrow(
      new UsageError('--out: the folder /no/such/dir does not exist (create it first)'),
    );
    expect(() => requireOutputFolder(join(directory, 'report.html'), '--out')).not.toThrow();
    expect(() => requireOutputFolder('report.html', '--out')).not.toThrow(); // the current folder
  });
});

describe('terminalWidth', () => {
  it('is the width of a terminal, and none for pipes and files (full tables there)', () => {
    expect(terminalWidth({ isTTY: true, columns: 80 })).toBe(80);
    expect(terminalWidth({ isTTY: false, columns: 80 })).toBeUndefined();
    expect(terminalWidth({})).toBeUndefined();
  });
});
