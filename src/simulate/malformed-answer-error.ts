/**
 * @module simulate/malformed-answer-error — the simulator answered, but not with anything a value can be read from
 * (no logprobs, no parsable values). Worth a bounded number of fresh attempts; the pipeline then records the
 * feature as failed with this reason.
 */
export class MalformedAnswerError extends Error {
  override readonly name = 'MalformedAnswerError';
}
