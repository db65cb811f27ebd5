/**
 * @module simulate/incomplete-answer-error — the simulator answered, but left too many predictions missing (or a
 * whole record without values) even with one record a call: the feature is recorded as failed with this reason,
 * never scored on what is left. Not retried as is: the same request gets the same (cached) answer.
 */
import { AutointerpError } from '../common/errors.ts';

export class IncompleteAnswerError extends AutointerpError {
  override readonly name = 'IncompleteAnswerError';
}
