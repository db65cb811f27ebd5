/** @module records/errors — the error type for bad input files, naming the file and the place in it. */
import { InputError } from '../common/errors.ts';

/**
 * Raised when an input file cannot be read (feature records, the corpus sample, SAE files, …). The message is one
 * line, fit for a CLI: `file (location): reason`. Each kind of file has its own subclass.
 */
export class FileFormatError extends InputError {
  override readonly name: string = 'FileFormatError';
  constructor(
    readonly file: string,
    /** Where in the file (a line, a record path, a tensor or key); null when the whole file is bad. */
    readonly location: string | null,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${location ? ` (${location})` : ''}: ${reason}`, options);
  }
}

/**
 * Raised when an input file cannot be read as feature records; `location` is the 1-based line (JSONL) or record path
 * (`most_positive_activation_records[3]`).
 */
export class RecordFormatError extends FileFormatError {
  override readonly name = 'RecordFormatError';
}
