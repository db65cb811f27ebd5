/**
 * @module cli/main — the `autointerp` program, importable: `runCli(arguments)` runs one command in this process and
 * resolves to its exit code (0 success, 1 quality regression (regress), 2 usage or data error, 70 a bug: cli/errors.ts
 * reports every error in one line; never 0 or 1). It never calls process.exit on the normal path; `cli/bin.ts` is
 * the process entry that sets process.exitCode from it.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_ERROR, reportCliError } from './errors.ts';
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
import { registerServeCommand } from './serve.ts';
import { registerTrainSaeCommands } from './train-sae.ts';
import { registerSteerCommand } from './steer.ts';
import { registerMergeCommand } from './merge.ts';
import { registerImportDelphiCommand } from './import-delphi.ts';
import { registerValidateScorersCommand } from './validate-scorers.ts';
import { nameFlagsInErrors } from './shared-options.ts';
import { packageVersion } from '../common/package-version.ts';

export function buildProgram(): Command {
  const program = new Command()
    .name('autointerp')
    .description(
      'Explain features of neural networks with an LLM, simulate them from the explanation, score, and keep results in SQLite.',
    )
    .version(packageVersion)
    .option('--debug', 'print the stack trace of an internal error (or set AUTOINTERP_DEBUG=1)')
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
  registerServeCommand(program);
  registerExtractCommand(program);
  registerTrainSaeCommands(program);
  registerSteerCommand(program);
  registerImportDelphiCommand(program);
  registerValidateScorersCommand(program);
  return nameFlagsInErrors(program);
}

/**
 * Runs one `autointerp` command line in this process. `argv` holds the user's arguments only (no `node` and script
 * path, e.g. `['leaderboard', '--json']`). Resolves to the exit code; process.exitCode is left as it was (commands
 * that set it while running have it read back and restored).
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const exitCodeBefore = process.exitCode;
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync([...argv], { from: 'user' });
    return exitCodeAsNumber(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : EXIT_ERROR;
    }
    return reportCliError(error, { argv });
  } finally {
    process.exitCode = exitCodeBefore;
  }
}

/** The exit code a command left in process.exitCode (undefined means success). */
function exitCodeAsNumber(exitCode: string | number | null | undefined): number {
  if (exitCode === undefined || exitCode === null) return 0;
  const code = Number(exitCode);
  return Number.isInteger(code) ? code : EXIT_ERROR;
}
