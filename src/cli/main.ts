/**
 * @module cli/main — the `autointerp` command. Exit codes: 0 success, 1 quality regression (regress),
 * 2 usage or data error; any uncaught error is reported in one line and exits 2, never 0 or 1.
 */
import { Command, CommanderError } from 'commander';
import { FileFormatError } from '../records/errors.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';
import { EXIT_ERROR, UsageError } from './errors.ts';
import { registerExplainCommand } from './explain.ts';
import { registerExtractCommand } from './extract.ts';
import { registerLeaderboardCommand } from './leaderboard.ts';
import { registerCompareCommand } from './compare.ts';
import { registerExportCommand } from './export.ts';
import { registerRegressCommand } from './regress.ts';
import { registerReportCommand } from './report.ts';
import { registerTagCommand } from './tag.ts';
import { registerRunCommand } from './run.ts';
import { registerSimulateAndScoreCommands } from './score.ts';
import { registerServeFakeCommand } from './serve-fake.ts';
import { registerTrainSaeCommands } from './train-sae.ts';
import { registerSteerCommand } from './steer.ts';
import { registerMergeCommand } from './merge.ts';
import { registerImportDelphiCommand } from './import-delphi.ts';
import { nameFlagsInErrors } from './shared-options.ts';

export function buildProgram(): Command {
  const program = new Command()
    .name('autointerp')
    .description('Explain features of neural networks with an LLM, simulate them from the explanation, score, and keep results in SQLite.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerRunCommand(program);
  registerExplainCommand(program);
  registerSimulateAndScoreCommands(program);
  registerLeaderboardCommand(program);
  registerCompareCommand(program);
  registerRegressCommand(program);
  registerReportCommand(program);
  registerExportCommand(program);
  registerMergeCommand(program);
  registerTagCommand(program);
  registerServeFakeCommand(program);
  registerExtractCommand(program);
  registerTrainSaeCommands(program);
  registerSteerCommand(program);
  registerImportDelphiCommand(program);
  return nameFlagsInErrors(program);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_ERROR;
      return;
    }
    const known = error instanceof UsageError || error instanceof FileFormatError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`autointerp: ${known ? '' : 'error: '}${escapeTerminalText(message)}\n`);
    if (!known && process.env.AUTOINTERP_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = EXIT_ERROR;
  }
}

await main(process.argv);
