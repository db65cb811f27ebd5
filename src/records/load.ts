/**
 * @module records/load — one entry point that reads feature records from any supported source, detecting the
 * format: native JSONL (`.jsonl`), an OpenAI NeuronRecord JSON file, a directory of NeuronRecords
 * (`{layer}/{neuron}.json`), or a directory of JSONL shards (every `*.jsonl` directly in it, in name order).
 * Everything is validated before it is returned, so a bad file fails before any work starts.
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

/** `onJsonlChunk` sees the bytes of a single-file JSONL source as they are read (not called for other sources). */
async function load(
  path: string,
  options: LoadRecordsOptions,
  onJsonlChunk?: (chunk: Buffer) => void,
): Promise<FeatureRecord[]> {
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
  const records: FeatureRecord[] = [];
  const shards = info.isDirectory() ? await jsonlShards(path) : [];
  if (shards.length > 0) {
    for (const shard of shards) for await (const record of readFeatureRecordsJsonl(shard)) records.push(record);
  } else if (info.isDirectory()) {
    for await (const record of readNeuronRecordDirectory(path, model)) records.push(record);
  } else if (path.endsWith('.jsonl')) {
    for await (const record of readFeatureRecordsJsonl(path, onJsonlChunk)) records.push(record);
  } else {
    const value = parsePythonJson(await readUtf8RecordFile(path, (text) => parsePythonJson(text, path)), path);
    if (looksLikeNeuronRecord(value)) records.push(neuronRecordToFeatureRecord(value, path, model));
    else if (Array.isArray(value)) value.forEach((item, i) => records.push(parseFeatureRecord(item, path, `[${i}]`)));
    else if (typeof value === 'object' && value !== null && 'top' in value && 'id' in value) {
      records.push(parseFeatureRecord(value, path, 'record'));
    } else {
      throw new RecordFormatError(
        path,
        null,
        'unknown JSON shape: expected autointerp FeatureRecords (.jsonl, or a JSON array) or an OpenAI NeuronRecord',
      );
    }
  }
  if (records.length === 0) throw new RecordFormatError(path, null, 'contains no feature records');
  const seen = new Set<string>();
  for (const record of records) {
    const key = featureKey(record.id);
    if (seen.has(key)) throw new RecordFormatError(path, null, `feature ${key} appears twice`);
    seen.add(key);
  }
  return records;
}
