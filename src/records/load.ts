/**
 * @module records/load — one entry point that reads feature records from any supported source, detecting the
 * format: native JSONL (`.jsonl`), an OpenAI NeuronRecord JSON file, a directory of NeuronRecords
 * (`{layer}/{neuron}.json`), or a directory of JSONL shards (every `*.jsonl` directly in it, in name order).
 * Everything is validated before it is returned, so a bad file fails before any work starts; `streamFeatureRecords`
 * yields the same records one at a time (the pipeline's streaming runs).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestSource, fileDigester } from './digest-source.ts';
import { RecordFormatError } from './errors.ts';
import { parseFeatureRecord, readFeatureRecordsJsonl } from './jsonl.ts';
import {
  looksLikeNeuronRecord,
  neuronRecordToFeatureRecord,
  parsePythonJson,
  readNeuronRecordDirectory,
} from './openai-neuron-record.ts';
import { featureKey } from './feature-key.ts';
import type { FeatureRecord } from './types.ts';
import { readUtf8RecordFile } from './utf8.ts';

export interface LoadRecordsOptions {
  /** Subject model name for formats that do not carry one (OpenAI NeuronRecords). Default "unknown-model". */
  model?: string;
}

/** The `*.jsonl` files directly in a directory, in name order (a records source split into shards). */
async function jsonlShards(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.jsonl'))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(directory, name));
}

/** Loads all feature records of a file or directory; throws RecordFormatError on the first bad record. */
export async function loadFeatureRecords(path: string, options: LoadRecordsOptions = {}): Promise<FeatureRecord[]> {
  return load(path, options);
}

/**
 * The records and the digest of the source they were read from (`digestSource`): a JSONL file is hashed as it is
 * parsed (one read instead of two, and the digest is of exactly the bytes parsed); other sources are hashed after.
 */
export async function loadFeatureRecordsWithDigest(
  path: string,
  options: LoadRecordsOptions = {},
): Promise<{ records: FeatureRecord[]; digest: string }> {
  const digester = fileDigester();
  let hashedWhileReading = false;
  const records = await load(path, options, (chunk) => {
    hashedWhileReading = true;
    digester.update(chunk);
  });
  return { records, digest: hashedWhileReading ? digester.digest() : await digestSource(path) };
}

/**
 * Every feature record of a file or directory, validated one at a time as it is read, in source order; a
 * RecordFormatError on the first bad record. Memory stays bounded for JSONL sources and NeuronRecord directories (a
 * JSON array file is parsed whole). `onJsonlChunk` sees the bytes of a single-file JSONL source as they are read (not
 * called for other sources). No check across records (duplicates, an empty source): `loadFeatureRecords` and the
 * pipeline's first pass (pipeline/stream-run-features.ts) make those.
 */
export async function* streamFeatureRecords(
  path: string,
  options: LoadRecordsOptions = {},
  onJsonlChunk?: (chunk: Buffer) => void,
): AsyncGenerator<FeatureRecord> {
  const model = options.model ?? 'unknown-model';
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new RecordFormatError(path, null, 'no such file or directory');
  }
  if (!info.isFile() && !info.isDirectory()) {
    throw new RecordFormatError(
      path,
      null,
      'not a regular file or directory (records are read from a file or a folder, not a device, FIFO or socket)',
    );
  }
  const shards = info.isDirectory() ? await jsonlShards(path) : [];
  if (shards.length > 0) {
    for (const shard of shards) yield* readFeatureRecordsJsonl(shard);
  } else if (info.isDirectory()) {
    yield* readNeuronRecordDirectory(path, model);
  } else if (path.endsWith('.jsonl')) {
    yield* readFeatureRecordsJsonl(path, onJsonlChunk);
  } else {
    const value = parsePythonJson(await readUtf8RecordFile(path, (text) => parsePythonJson(text, path)), path);
    if (looksLikeNeuronRecord(value)) yield neuronRecordToFeatureRecord(value, path, model);
    else if (Array.isArray(value))
      for (const [i, item] of value.entries()) yield parseFeatureRecord(item, path, `[${i}]`);
    else if (typeof value === 'object' && value !== null && 'top' in value && 'id' in value) {
      yield parseFeatureRecord(value, path, 'record');
    } else {
      throw new RecordFormatError(
        path,
        null,
        'unknown JSON shape: expected autointerp FeatureRecords (.jsonl, or a JSON array) or an OpenAI NeuronRecord',
      );
    }
  }
}

/** Checks across a source's records, seen one at a time: a feature key seen twice, then (`finish`) an empty source. */
export function createSourceChecks(path: string): { see(record: FeatureRecord): string; finish(): void } {
  const seen = new Set<string>();
  return {
    see(record) {
      const key = featureKey(record.id);
      if (seen.has(key)) throw new RecordFormatError(path, null, `feature ${key} appears twice`);
      seen.add(key);
      return key;
    },
    finish() {
      if (seen.size === 0) throw new RecordFormatError(path, null, 'contains no feature records');
    },
  };
}

/** `onJsonlChunk` sees the bytes of a single-file JSONL source as they are read (not called for other sources). */
async function load(
  path: string,
  options: LoadRecordsOptions,
  onJsonlChunk?: (chunk: Buffer) => void,
): Promise<FeatureRecord[]> {
  const records: FeatureRecord[] = [];
  for await (const record of streamFeatureRecords(path, options, onJsonlChunk)) records.push(record);
  if (records.length === 0) throw new RecordFormatError(path, null, 'contains no feature records');
  const checks = createSourceChecks(path);
  for (const record of records) checks.see(record);
  return records;
}
