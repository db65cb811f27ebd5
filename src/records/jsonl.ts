/** @module records/jsonl — the native exchange format: JSONL, one FeatureRecord a line. */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isCanonicalFeatureRecord } from './canonical-record.ts';
import { RecordFormatError } from './errors.ts';
import { readLines } from './read-lines.ts';
import { FeatureRecordSchema, type FeatureRecord } from './types.ts';
import { InvalidUtf8Error, invalidUtf8RecordError } from './utf8.ts';
import { describeZodError } from './validate.ts';

/** JSON with non-finite numbers is not JSON; we still name them clearly when a writer produced `NaN`. */
function parseJsonLine(text: string, file: string, lineNumber: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const hint = /\b(NaN|-?Infinity)\b/.test(text) ? ' (NaN/Infinity are not valid activations)' : '';
    throw new RecordFormatError(file, `line ${lineNumber}`, `not valid JSON${hint}`, { cause: error });
  }
}

/** Validates one parsed line as a FeatureRecord, or throws a RecordFormatError naming file, line and field. */
export function parseFeatureRecord(value: unknown, file: string, location: string): FeatureRecord {
  if (isCanonicalFeatureRecord(value)) return value; // what the schema would return, without its copies
  const parsed = FeatureRecordSchema.safeParse(value);
  if (!parsed.success) {
    const { location: field, reason } = describeZodError(parsed.error);
    throw new RecordFormatError(file, `${location}${field ? `, ${field}` : ''}`, reason);
  }
  return parsed.data;
}

/**
 * Streams a JSONL file of FeatureRecords; blank lines are skipped. `onChunk` sees the raw bytes as they are read.
 * A line that is not UTF-8 is a RecordFormatError naming the line and the field.
 */
export async function* readFeatureRecordsJsonl(
  file: string,
  onChunk?: (chunk: Buffer) => void,
): AsyncGenerator<FeatureRecord> {
  let lineNumber = 0;
  try {
    for await (const line of readLines(file, onChunk ? { onChunk } : {})) {
      lineNumber += 1;
      if (line.trim() === '') continue;
      yield parseFeatureRecord(parseJsonLine(line, file, lineNumber), file, `line ${lineNumber}`);
    }
  } catch (error) {
    throw error instanceof InvalidUtf8Error ? invalidUtf8RecordError(file, error) : error;
  }
}

/** Writes FeatureRecords as JSONL (validated first, so nothing invalid is ever written). */
export async function writeFeatureRecordsJsonl(file: string, records: Iterable<FeatureRecord>): Promise<void> {
  const stream = createWriteStream(file, 'utf8');
  for (const record of records) {
    const line = `${JSON.stringify(FeatureRecordSchema.parse(record))}\n`;
    if (!stream.write(line)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}
