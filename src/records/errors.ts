/** @module records/errors — one error type for bad input data, naming the file and the record. */

/** Raised when an input file cannot be read as feature records. The message is one line, fit for a CLI. */
export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
  constructor(
    readonly file: string,
    /** 1-based line (JSONL) or record path (`most_positive_activation_records[3]`); null when the whole file is bad. */
    readonly location: string | null,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${location ? ` (${location})` : ''}: ${reason}`, options);
  }
}
