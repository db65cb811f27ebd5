/** @module cli/shared-options — options several commands share, and opening the store they name. */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { openDatabase, resolveDatabasePath, type OpenDatabaseOptions } from '../store/database.ts';
import { ResultStore } from '../store/result-store.ts';
import { DEFAULT_CONTEXT_TOKENS } from '../llm/default-context-tokens.ts';
import { pipelineConfigDefaults as defaults } from '../pipeline/config-defaults.ts';
import { UsageError } from './errors.ts';

export const databaseOption = () =>
  new Option('--db <path>', 'SQLite database file (default: $AUTOINTERP_DB, else ./autointerp.db)');

export function addProviderOptions(command: Command): Command {
  return command
    .option(
      '--explainer <provider:model>',
      'explainer: baseline (offline), openai:<model>, openai-compatible:<model>, anthropic:<model>',
      defaults.explainer,
    )
    .option(
      '--simulator <provider:model>',
      `simulator: baseline (offline; reads quoted tokens "the", word lists like wife, father, son, lexicon word classes such as nouns, and "after X"; other wording predicts 0), openai:<model>, openai-compatible:<model>, anthropic:<model>`,
      defaults.simulator,
    )
    .option(
      '--base-url <url>',
      'base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, llama.cpp, Ollama)',
    );
}

/**
 * The simulation options of the commands that simulate outside `run` (`simulate`, `score`, `validate-scorers`): the
 * server, the prompt version, and how held-out records are grouped into calls, as in `run`.
 */
export function addSimulationCallOptions(command: Command): Command {
  return command
    .option('--base-url <url>', 'base URL of an OpenAI-compatible server')
    .option('--simulate-prompt <version>', 'simulate prompt version', defaults.simulatePrompt)
    .option(
      '--records-per-call <n|all>',
      'held-out records per simulation call, as in `run` (default all)',
      recordsPerCallFlag,
    )
    .option(
      '--context-tokens <n>',
      `the simulator's context window in tokens, as in \`run\` (default: data/context-windows.json, else ${DEFAULT_CONTEXT_TOKENS})`,
      positiveInteger,
    );
}

/** Flags of the reliability layer (limits, retries, cache, budget), as commander parses them. */
export interface ReliabilityFlags {
  rpm?: number;
  tpm?: number;
  maxRequests?: number;
  maxAttempts?: number;
  requestTimeoutMs?: number;
  cache: boolean;
  maxCost?: number;
  prices?: string;
}

export function addReliabilityOptions(command: Command): Command {
  return command
    .option(
      '--rpm <n>',
      'requests per minute to each API, explainer and simulator together (default: unlimited)',
      positiveNumber,
    )
    .option('--tpm <n>', 'tokens per minute to each API (estimated before a call, corrected after)', positiveNumber)
    .option(
      '--max-requests <n>',
      'LLM requests in flight at once per API (default: bounded by --concurrency)',
      positiveInteger,
    )
    .option(
      '--max-attempts <n>',
      `attempts per LLM call on 429, 5xx, timeouts and connection resets (default ${defaults.maxAttempts})`,
      positiveInteger,
    )
    .option(
      '--request-timeout-ms <n>',
      `timeout of one LLM request (default ${defaults.requestTimeoutMs})`,
      positiveInteger,
    )
    .option('--no-cache', 'do not answer repeated requests from the response cache in the database')
    .option('--max-cost <usd>', 'budget in USD: no new feature starts once the run has spent it', nonNegativeNumber)
    .option(
      '--prices <file>',
      'price table JSON merged over data/prices.json ({"prices": {"provider:model": {"inputPerMillion", "outputPerMillion"}}})',
    );
}

/** The reliability options the user gave (on `--resume` only these replace the stored ones). */
export function reliabilityOverrides(flags: ReliabilityFlags, command: Command) {
  return {
    ...(flags.rpm !== undefined ? { requestsPerMinute: flags.rpm } : {}),
    ...(flags.tpm !== undefined ? { tokensPerMinute: flags.tpm } : {}),
    ...(flags.maxRequests !== undefined ? { requestConcurrency: flags.maxRequests } : {}),
    ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
    ...(flags.requestTimeoutMs !== undefined ? { requestTimeoutMs: flags.requestTimeoutMs } : {}),
    ...(command.getOptionValueSource('cache') === 'cli' ? { cache: flags.cache } : {}),
    ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
    ...(flags.prices !== undefined ? { prices: resolve(flags.prices) } : {}),
  };
}

/**
 * Makes every option value error of `command` and its subcommands name the flag: `--rpm: expected a positive number,
 * got "-1"` (a one-line usage error, exit 2), and `--mode: expected one of a, b, got "c"` for choices. Call it once
 * the commands are registered.
 */
export function nameFlagsInErrors(command: Command): Command {
  for (const option of command.options) {
    const parse = option.parseArg;
    if (!parse) continue;
    const flag = option.long ?? option.short ?? option.flags;
    option.parseArg = <T>(value: string, previous: T): T => {
      try {
        return parse(value, previous) as T;
      } catch (error) {
        const reason = option.argChoices
          ? `expected one of ${option.argChoices.join(', ')}, got "${value}"`
          : error instanceof Error
            ? error.message
            : String(error);
        throw new UsageError(reason.startsWith(flag) ? reason : `${flag}: ${reason}`, { cause: error });
      }
    };
  }
  for (const subcommand of command.commands) nameFlagsInErrors(subcommand);
  return command;
}

/**
 * Refuses an output file whose folder does not exist (a typo in a path should not grow a tree of folders): a usage
 * error naming the flag and the missing folder. Nothing is created.
 */
export function requireOutputFolder(file: string, flag: string): void {
  const folder = dirname(resolve(file));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new UsageError(`${flag}: the folder ${dirname(file)} does not exist (create it first)`);
  }
  if (!isFolder) throw new UsageError(`${flag}: ${dirname(file)} is not a folder`);
}

/** A renamed option's old spelling: still parsed, hidden from the help (see `renamedOptionValue`). */
export function deprecatedOption(flags: string, renamedTo: string, parse: (value: string) => unknown): Option {
  return new Option(flags, `deprecated spelling of ${renamedTo}`).argParser(parse).hideHelp();
}

/**
 * The value of an option that was renamed from `oldFlag` to `newFlag`: the old spelling still works, with one
 * deprecation line on stderr; both at once are a usage error.
 */
export function renamedOptionValue<T>(command: Command, oldFlag: string, newFlag: string, why = ''): T {
  const find = (flag: string) => {
    const option = command.options.find((candidate) => candidate.long === flag);
    if (!option) throw new Error(`${command.name()} has no option ${flag}`);
    return option.attributeName();
  };
  const [oldKey, newKey] = [find(oldFlag), find(newFlag)];
  const old = command.getOptionValue(oldKey) as T | undefined;
  if (old === undefined) return command.getOptionValue(newKey) as T;
  if (command.getOptionValueSource(newKey) === 'cli')
    throw new UsageError(`${oldFlag} is the old spelling of ${newFlag}; give ${newFlag} alone`);
  process.stderr.write(
    `autointerp ${command.name()}: ${oldFlag} is deprecated${why ? ` (${why})` : ''}; use ${newFlag}\n`,
  );
  return old;
}

/** Parses a positive number option value. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${value}"`);
  return n;
}

/** Parses a non-negative number option value. */
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got "${value}"`);
  return n;
}

/** The width of `stream` when it is a terminal (tables are fitted to it); undefined for files and pipes (full width). */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  return stream.isTTY && stream.columns && stream.columns > 0 ? stream.columns : undefined;
}

/**
 * Opens the database a command names. `readonly` for commands that only read (leaderboard, report, export, compare,
 * regress): no file is created, nothing written. A database that cannot be opened is a one-line usage error naming it.
 */
export function openStore(
  databasePath: string | undefined,
  options: OpenDatabaseOptions = {},
): { store: ResultStore; path: string; close(): void } {
  const path = resolveDatabasePath(databasePath);
  const db = openDatabase(path, options);
  return { store: new ResultStore(db), path, close: () => db.close() };
}

/** Parses `--records-per-call N|all`; a bad value is a one-line usage error (exit 2). */
export function recordsPerCallFlag(value: string): number | 'all' {
  if (value.trim() === 'all') return 'all';
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`--records-per-call expects a positive integer or "all", got "${value}"`);
  return n;
}

/** Parses a positive integer option value (commander argParser). */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}

/** Parses a non-negative integer option value (commander argParser). */
export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${value}"`);
  return n;
}
