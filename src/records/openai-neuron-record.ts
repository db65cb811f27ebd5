/**
 * @module records/openai-neuron-record — reads OpenAI neuron-explainer `NeuronRecord` JSON (one file, or a directory
 * laid out `{layer}/{neuron}.json` as their public GPT-2 dataset) into FeatureRecords.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { RecordFormatError } from './errors.ts';
import { ActivationRecordSchema, type ActivationRecord, type FeatureRecord } from './types.ts';
import { readUtf8RecordFile } from './utf8.ts';
import { describeZodError } from './validate.ts';

const NON_FINITE = '__autointerp_non_finite__';

/** Python's json.dumps writes NaN / Infinity bare; turn them into a marked string so we can name them precisely. */
function parsePythonJson(text: string, file: string): unknown {
  const marked = text.replace(/([:,[]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, `$1"${NON_FINITE}$2"`);
  try {
    return JSON.parse(marked);
  } catch (error) {
    throw new RecordFormatError(file, null, 'not valid JSON', { cause: error });
  }
}

const isNonFinite = (value: unknown): value is string => typeof value === 'string' && value.startsWith(NON_FINITE);

const RecordShape = z.object({ tokens: z.array(z.string()), activations: z.array(z.unknown()) }).loose();

const NeuronRecordShape = z
  .object({
    neuron_id: z
      .object({ layer_index: z.number().int().nonnegative(), neuron_index: z.number().int().nonnegative() })
      .loose(),
    most_positive_activation_records: z.array(RecordShape),
    random_sample: z.array(RecordShape).default([]),
    random_sample_by_quantile: z.array(z.array(RecordShape)).nullable().optional(),
    quantile_boundaries: z.array(z.unknown()).nullable().optional(),
    mean: z.unknown().optional(),
    variance: z.unknown().optional(),
    skewness: z.unknown().optional(),
    kurtosis: z.unknown().optional(),
  })
  .loose();

/** True when a parsed JSON value looks like a NeuronRecord (used for format detection). */
export function looksLikeNeuronRecord(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && 'most_positive_activation_records' in value && 'neuron_id' in value
  );
}

function toActivationRecord(raw: unknown, file: string, location: string): ActivationRecord {
  const activations = (raw as { activations?: unknown[] }).activations;
  const bad = Array.isArray(activations) ? activations.findIndex(isNonFinite) : -1;
  if (bad >= 0) {
    const value = String(activations![bad]).slice(NON_FINITE.length);
    throw new RecordFormatError(
      file,
      `${location}.activations[${bad}]`,
      `activation is ${value}; activations must be finite`,
    );
  }
  const parsed = ActivationRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const { location: field, reason } = describeZodError(parsed.error, [location]);
    throw new RecordFormatError(file, field, reason);
  }
  return { tokens: parsed.data.tokens, activations: parsed.data.activations };
}

function statOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Converts one parsed NeuronRecord object. `model` names the subject model (NeuronRecord files do not). */
export function neuronRecordToFeatureRecord(value: unknown, file: string, model: string): FeatureRecord {
  const shape = NeuronRecordShape.safeParse(value);
  if (!shape.success) {
    const { location, reason } = describeZodError(shape.error);
    throw new RecordFormatError(file, location || null, `not a NeuronRecord: ${reason}`);
  }
  const neuron = shape.data;
  const top = neuron.most_positive_activation_records.map((r, i) =>
    toActivationRecord(r, file, `most_positive_activation_records[${i}]`),
  );
  const random = neuron.random_sample.map((r, i) => toActivationRecord(r, file, `random_sample[${i}]`));
  const quantiles = neuron.random_sample_by_quantile?.map((bin, b) =>
    bin.map((r, i) => toActivationRecord(r, file, `random_sample_by_quantile[${b}][${i}]`)),
  );
  const boundaries = neuron.quantile_boundaries?.map(statOrNull);
  let maxActivation = 0;
  for (const record of [...top, ...random])
    for (const a of record.activations) maxActivation = Math.max(maxActivation, a);
  const record: FeatureRecord = {
    id: { model, layer: neuron.neuron_id.layer_index, kind: 'neuron', index: neuron.neuron_id.neuron_index },
    top,
    random,
    stats: {
      mean: statOrNull(neuron.mean),
      variance: statOrNull(neuron.variance),
      skewness: statOrNull(neuron.skewness),
      kurtosis: statOrNull(neuron.kurtosis),
      maxActivation,
      density: null,
    },
  };
  if (quantiles) record.quantiles = quantiles;
  if (boundaries?.every((b): b is number => b !== null)) record.quantileBoundaries = boundaries;
  return record;
}

/** Reads one NeuronRecord file. */
export async function readNeuronRecordFile(file: string, model: string): Promise<FeatureRecord> {
  const text = await readUtf8RecordFile(file, (lenient) => parsePythonJson(lenient, file));
  return neuronRecordToFeatureRecord(parsePythonJson(text, file), file, model);
}

/** Parses JSON text that may contain Python's bare NaN/Infinity (exported for format detection). */
export { parsePythonJson };

/** Reads a directory laid out `{layer}/{neuron}.json`, in (layer, neuron) numeric order. */
export async function* readNeuronRecordDirectory(directory: string, model: string): AsyncGenerator<FeatureRecord> {
  const numeric = (name: string) => /^\d+$/.test(name);
  const layers = (await readdir(directory)).filter(numeric).sort((a, b) => Number(a) - Number(b));
  if (layers.length === 0) {
    throw new RecordFormatError(directory, null, 'no {layer}/ sub-directories found (expected {layer}/{neuron}.json)');
  }
  for (const layer of layers) {
    const layerDirectory = join(directory, layer);
    if (!(await stat(layerDirectory)).isDirectory()) continue;
    const neurons = (await readdir(layerDirectory))
      .filter((name) => /^\d+\.json$/.test(name))
      .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    for (const neuronFile of neurons) yield readNeuronRecordFile(join(layerDirectory, neuronFile), model);
  }
}
