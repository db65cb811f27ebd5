/**
 * @module pipeline/run-failed-error — the fatal error of a started run, in a module of its own so that the CLI's
 * error reporting (cli/errors.ts) can recognise it without loading the pipeline at start-up.
 */
import { AutointerpError } from '../common/errors.ts';

/** A fatal error of a started run (a storage error, a bug): the run is marked failed where the database allows. */
export class RunFailedError extends AutointerpError {
  override readonly name = 'RunFailedError';
  constructor(
    readonly runId: number,
    message: string,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}
