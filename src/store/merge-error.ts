/** @module store/merge-error — a merge refused for a reason the user can act on. */
import { InputError } from '../common/errors.ts';

/** A merge refused for a reason the user can act on (one line). */
export class MergeError extends InputError {
  override readonly name = 'MergeError';
}
