/**
 * @module simulate/malformed-answer-error — the simulator answered, but not with anything a value can be read from
 * (no logprobs, no parsable values). Worth a bounded number of fresh attempts; the pipeline then records the
 * feature as failed with this reason.
 */
import { AutointerpError } from '../common/errors.ts';

export class MalformedAnswerError extends AutointerpError {
  override readonly name = 'MalformedAnswerError';
}
