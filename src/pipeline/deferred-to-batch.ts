/**
 * @module pipeline/deferred-to-batch — the error a batch-mode run's collecting providers throw for a request they
 * defer to a batch (batch-mode.ts), and how a step that would otherwise absorb a failure (a best-of-n candidate whose
 * calibration simulation failed is kept unscored) tells a deferral apart: it must fail the unit of work instead, so
 * that nothing after it is collected from a guess.
 */
import { AutointerpError } from '../common/errors.ts';

/** Thrown by batch mode's collecting providers: the request is deferred to a batch. */
export class DeferredToBatch extends AutointerpError {
  override readonly name = 'DeferredToBatch';
}

/** True when `error`, or an error in its `cause` chain, is a deferral to a batch. */
export function isDeferredToBatch(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 16; current = current.cause, depth++)
    if (current instanceof DeferredToBatch) return true;
  return false;
}
