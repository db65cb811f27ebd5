/** @module cli/errors — exit codes: 0 success, 1 quality regression (regress), 2 usage or data error, or a crash. */

export const EXIT_OK = 0;
export const EXIT_REGRESSION = 1;
export const EXIT_ERROR = 2;

/** An error whose message is meant for the user as is (one line, no stack). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
