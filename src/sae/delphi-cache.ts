/**
 * @module sae/delphi-cache — feature records from an EleutherAI delphi latent cache, so that SAE latents cached with
 * delphi (on a GPU host, any model) are explained and scored here.
 *
 * The layout, as delphi's `LatentCache.save_splits` / `save_config` write it (delphi/latents/cache.py): one folder per
 * hookpoint, `<run>/<hookpoint>/`, holding `config.json` (the cache config and `model_name`) and splits
 * `<start>_<end>.safetensors` that cover latents start..end (inclusive), each with
 * - `locations` [n, 3]: batch row, position, latent − start (U16 when they fit, else U32);
 * - `activations` [n]: the latent's (non-zero) activation there (F16);
 * - `tokens` [batch rows, cache_ctx_len]: the cached token ids (I64), in every split when saved with tokens.
 * Every row of `tokens` is a sequence of the cache's context length; a latent's activations over the cache are zero
 * except at its locations. Records are built from them as from any dense activations (records/build-from-dense: top,
 * quantile and random windows within each sequence, stats over every cached token), a chunk of latents at a time
 * (memory: tokens × chunk floats), with token ids (and the ids before each window in its sequence) kept for ablation.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildFeatureRecords, type BuildRecordsOptions } from '../records/build-from-dense.ts';
import type { FeatureId, FeatureRecord } from '../records/types.ts';
import { readSafetensors } from '../common/safetensors.ts';
import { InputError } from '../common/errors.ts';

/** A delphi cache that cannot be read; the message is one line naming the file. */
export class DelphiCacheError extends InputError {
  override readonly name = 'DelphiCacheError';
}

export interface DelphiCacheOptions extends BuildRecordsOptions {
  /** The hookpoint folder to read when `directory` is the run folder (needed when it holds several). */
  hookpoint?: string;
  /** Latents to build (default all). */
  latents?: readonly number[] | 'all';
  /** Feature id model (default config.json's `model_name`, else "unknown"). */
  model?: string;
  /** Feature id layer (default the hookpoint). */
  layer?: string;
  /** Feature id SAE name (default the hookpoint). */
  sae?: string;
  /** Token strings of ids (a tokenizer); default `<id>` placeholders, with a warning. */
  tokenStrings?: (ids: readonly number[]) => string[];
  /** Latents built per pass (default 256): memory ≈ cached tokens × chunk × 4 bytes. */
  chunkLatents?: number;
}

export interface DelphiCacheResult {
  records: FeatureRecord[];
  hookpoint: string;
  /** Latents the cache covers (one past the highest split end). */
  latents: number;
  sequences: number;
  contextLength: number;
  warnings: string[];
}

interface Split {
  file: string;
  start: number;
  end: number;
  locations: Int32Array;
  activations: Float32Array;
}

const splitName = /^(\d+)_(\d+)\.safetensors$/;

const splitFiles = (folder: string) =>
  existsSync(folder) ? readdirSync(folder).filter((name) => splitName.test(name)) : [];

/** The hookpoint folder: `directory` itself when it holds splits, else its `hookpoint` subfolder, else its only one. */
function hookpointFolder(directory: string, hookpoint: string | undefined): string {
  if (!existsSync(directory)) throw new DelphiCacheError(`${directory}: folder not found`);
  if (hookpoint !== undefined) {
    const folder = join(directory, hookpoint);
    if (splitFiles(folder).length === 0) throw new DelphiCacheError(`${folder}: no <start>_<end>.safetensors splits`);
    return folder;
  }
  if (splitFiles(directory).length > 0) return directory;
  const candidates = readdirSync(directory).filter(
    (name) => statSync(join(directory, name)).isDirectory() && splitFiles(join(directory, name)).length > 0,
  );
  if (candidates.length === 1) return join(directory, candidates[0]!);
  if (candidates.length === 0)
    throw new DelphiCacheError(
      `${directory}: no delphi latent cache (no <start>_<end>.safetensors splits, nor a folder of them)`,
    );
  throw new DelphiCacheError(`${directory} holds several hookpoints (${candidates.join(', ')}): choose one`);
}

function readConfig(folder: string): Record<string, unknown> | null {
  for (const file of [join(folder, 'config.json'), join(dirname(folder), 'config.json')]) {
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      throw new DelphiCacheError(`${file}: not valid JSON`);
    }
  }
  return null;
}

export function readDelphiLatentCache(directory: string, options: DelphiCacheOptions = {}): DelphiCacheResult {
  const folder = hookpointFolder(directory, options.hookpoint);
  const hookpoint = options.hookpoint ?? basename(folder);
  const config = readConfig(folder);
  const warnings: string[] = [];

  let tokens: { data: Int32Array; rows: number; context: number } | null = null;
  const splits: Split[] = splitFiles(folder)
    .map((name) => {
      const file = join(folder, name);
      const [, start, end] = splitName.exec(name)!.map(Number) as [number, number, number];
      if (end < start) throw new DelphiCacheError(`${file}: the split ends (${end}) before it starts (${start})`);
      const { tensors } = readSafetensors(file);
      const locations = tensors.get('locations');
      const activations = tensors.get('activations');
      if (!locations || !activations)
        throw new DelphiCacheError(`${file}: missing tensor ${locations ? 'activations' : 'locations'}`);
      if (locations.shape.length !== 2 || locations.shape[1] !== 3 || !(locations.data instanceof Int32Array)) {
        throw new DelphiCacheError(
          `${file}: locations must be integers of shape [n, 3], got ${locations.dtype} [${locations.shape.join(', ')}]`,
        );
      }
      if (activations.data.length !== locations.shape[0]) {
        throw new DelphiCacheError(
          `${file}: ${activations.data.length} activations for ${locations.shape[0]} locations`,
        );
      }
      const tokenTensor = tensors.get('tokens');
      if (tokenTensor && !tokens) {
        if (tokenTensor.shape.length !== 2 || !(tokenTensor.data instanceof Int32Array)) {
          throw new DelphiCacheError(
            `${file}: tokens must be integers of shape [sequences, context], got ${tokenTensor.dtype} [${tokenTensor.shape.join(', ')}]`,
          );
        }
        tokens = { data: tokenTensor.data, rows: tokenTensor.shape[0]!, context: tokenTensor.shape[1]! };
      }
      return { file, start, end, locations: locations.data, activations: activations.data as Float32Array };
    })
    .sort((a, b) => a.start - b.start);
  if (!tokens)
    throw new DelphiCacheError(`${folder}: no split holds the cached tokens (save the cache with save_tokens=True)`);
  const { data: tokenIds, rows: sequences, context } = tokens as { data: Int32Array; rows: number; context: number };
  for (const split of splits) {
    const n = split.activations.length;
    for (let entry = 0; entry < n; entry++) {
      const row = split.locations[entry * 3]!;
      const position = split.locations[entry * 3 + 1]!;
      const latent = split.start + split.locations[entry * 3 + 2]!;
      if (row >= sequences || position >= context || latent > split.end) {
        throw new DelphiCacheError(
          `${split.file}: location ${entry} (${row}, ${position}, latent ${latent}) is outside the cache`,
        );
      }
    }
  }

  const latentCount = Math.max(...splits.map((split) => split.end)) + 1;
  const latents =
    options.latents === undefined || options.latents === 'all'
      ? Array.from({ length: latentCount }, (_, index) => index)
      : [...options.latents];
  for (const latent of latents) {
    if (!(Number.isInteger(latent) && latent >= 0 && latent < latentCount))
      throw new DelphiCacheError(`${folder}: latent ${latent} is not in [0, ${latentCount})`);
  }

  const tokenCount = sequences * context;
  let strings: string[];
  if (options.tokenStrings) {
    const table = new Map<number, string>();
    strings = Array.from(tokenIds, (id) => {
      let text = table.get(id);
      if (text === undefined) table.set(id, (text = options.tokenStrings!([id])[0]!));
      return text;
    });
  } else {
    strings = Array.from(tokenIds, (id) => `<${id}>`);
    warnings.push("no tokenizer given: tokens are shown as <id> (give the model's tokenizer for readable records)");
  }
  const documentStarts = Array.from({ length: sequences }, (_, row) => row * context);
  const contextIds = (row: number) => Array.from(tokenIds.subarray(row - (row % context), row));
  const model = options.model ?? (typeof config?.model_name === 'string' ? config.model_name : 'unknown');
  if (options.model === undefined && model === 'unknown')
    warnings.push('no model name (config.json has none): feature ids say "unknown"; give it with --model');
  const layer = options.layer ?? hookpoint;
  const sae = options.sae ?? hookpoint;

  const { windowSize, topK, randomCount, quantileBins, perQuantile, seed } = options;
  const build: BuildRecordsOptions = { windowSize, topK, randomCount, quantileBins, perQuantile, seed };
  const chunk = options.chunkLatents ?? 256;
  const records: FeatureRecord[] = [];
  for (let first = 0; first < latents.length; first += chunk) {
    const part = latents.slice(first, first + chunk);
    const column = new Map(part.map((latent, index) => [latent, index]));
    const k = part.length;
    const values = new Float32Array(tokenCount * k);
    const [low, high] = [Math.min(...part), Math.max(...part)];
    for (const split of splits) {
      if (split.end < low || split.start > high) continue;
      for (let entry = 0; entry < split.activations.length; entry++) {
        const index = column.get(split.start + split.locations[entry * 3 + 2]!);
        if (index === undefined) continue;
        const row = split.locations[entry * 3]! * context + split.locations[entry * 3 + 1]!;
        values[row * k + index] = split.activations[entry]!;
      }
    }
    const ids: FeatureId[] = part.map((index) => ({ model, layer, kind: 'sae', index, sae }));
    records.push(
      ...buildFeatureRecords(
        { tokens: strings, values, nFeatures: k, documentStarts, tokenIds, contextIds },
        ids,
        build,
      ),
    );
  }
  return { records, hookpoint, latents: latentCount, sequences, contextLength: context, warnings };
}
