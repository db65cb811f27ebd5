/**
 * @module cli/errors — exit codes and the one place that turns an error into them (docs/DESIGN.md §8): 0 success,
 * 1 quality regression (regress), 2 usage or data error (an `InputError`) or an expected operational failure (another
 * `AutointerpError`, a full disk, a refused connection), 70 a bug (anything else), 130 Ctrl+C (cli/abort-on-signals).
 */
import { inspect } from 'node:util';
import { AutointerpError, InputError } from '../common/errors.ts';
import { RunFailedError } from '../pipeline/run-failed-error.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';

export const EXIT_OK = 0;
export const EXIT_REGRESSION = 1;
export const EXIT_ERROR = 2;
/** EX_SOFTWARE (sysexits.h): a bug, never read as a pass (0) or a regression (1). */
export const EXIT_INTERNAL_ERROR = 70;

/** An error whose message is meant for the user as is (one line, no stack): a bad flag or combination of flags. */
export class UsageError extends InputError {
  override readonly name: string = 'UsageError';
}

/** What an error says about who can fix it. */
export type ErrorKind = 'input' | 'operational' | 'bug';

export interface ReportErrorOptions {
  /** The command line: `--debug` in it prints the stack trace (and causes) of an operational failure or a bug. */
  argv?: readonly string[];
  /** AUTOINTERP_DEBUG=1 in it does the same. Default: process.env. */
  environment?: Record<string, string | undefined>;
  /** Where the report goes. Default: process.stderr. */
  write?: (text: string) => void;
}

/** SQLite result codes that are about the file or the machine, not our SQL (a full disk, a read-only or locked file). */
const OPERATIONAL_SQLITE_CODES =
  /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|NOTADB|CORRUPT|PERM|AUTH|NOLFS|NOMEM)/;

/** How deep a chain of causes is followed (a cycle of causes must not loop). */
const MAX_CAUSE_DEPTH = 8;

/**
 * An error of the machine rather than of our code: a Node system error (`ENOENT`, `ECONNREFUSED`: it names a
 * syscall), fetch's `TypeError: fetch failed` around one, an operational SQLite code, or an abort.
 */
function isSystemFailure(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > MAX_CAUSE_DEPTH) return false;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code === 'string' && typeof syscall === 'string') return true;
  if (error.name === 'SqliteError' && typeof code === 'string' && OPERATIONAL_SQLITE_CODES.test(code)) return true;
  if (error.name === 'AbortError' || error.name === 'TimeoutError') return true;
  return isSystemFailure(error.cause, depth + 1);
}

/**
 * `input` for an `InputError` (the user can fix it); `operational` for another `AutointerpError` or a failure of the
 * machine (a full disk, a refused connection); `bug` for anything else. A failed run is what its cause is.
 */
export function classifyError(error: unknown): ErrorKind {
  if (error instanceof InputError) return 'input';
  if (error instanceof RunFailedError) return classifyError(error.cause) === 'bug' ? 'bug' : 'operational';
  if (error instanceof AutointerpError || isSystemFailure(error)) return 'operational';
  return 'bug';
}

/**
 * Reports an error that ended a command and returns the exit code: an input error in one line (`autointerp: …`),
 * exit 2; an operational failure in one line (`autointerp: error: …`), exit 2; a bug in one line (`autointerp:
 * internal error: …`), exit 70. With `--debug`, operational failures and bugs add their stack trace and causes.
 */
export function reportCliError(error: unknown, options: ReportErrorOptions = {}): number {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const debug = isDebugRequested(options.environment ?? process.env, options.argv);
  const kind = classifyError(error);
  const message = escapeTerminalText(error instanceof Error ? error.message : String(error));
  if (kind === 'input') write(`autointerp: ${message}\n`);
  else if (kind === 'operational') write(`autointerp: error: ${message}\n`);
  else write(`autointerp: internal error: ${message} (this is a bug; rerun with --debug for the stack trace)\n`);
  if (debug && kind !== 'input') write(`${inspect(error)}\n`);
  return kind === 'bug' ? EXIT_INTERNAL_ERROR : EXIT_ERROR;
}

/** True when the command line has `--debug` (before any `--`) or the environment has AUTOINTERP_DEBUG set (not 0). */
export function isDebugRequested(
  environment: Record<string, string | undefined>,
  argv: readonly string[] = [],
): boolean {
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).includes('--debug')) return true;
  const value = environment.AUTOINTERP_DEBUG;
  return value !== undefined && value !== '' && value !== '0';
}
