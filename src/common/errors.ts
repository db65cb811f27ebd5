/**
 * @module common/errors — the base of every error autointerp throws on purpose (docs/DESIGN.md §8). `InputError` is
 * one the user can fix (a flag, a file, a key, a server, a database held by another process): the CLI reports its
 * message in one line and exits 2. Another `AutointerpError` is an expected operational failure (a full disk, a run
 * that failed): also one line and exit 2. Anything that is not an `AutointerpError` is a bug (exit 70).
 */

/** The base of autointerp's own errors; `options.cause` keeps the error it wraps. */
export class AutointerpError extends Error {
  override readonly name: string = 'AutointerpError';
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Something the user can fix: a bad flag, file, field or key, a server that does not answer, a database refused. */
export class InputError extends AutointerpError {
  override readonly name: string = 'InputError';
}

/** True for an error the user can fix (reported in one line, exit 2). */
export function isInputError(error: unknown): error is InputError {
  return error instanceof InputError;
}
