/** @module records — activation records: types, validation, loading, building, splitting, normalization. */
export * from './types.ts';
export * from './feature-key.ts';
export * from './errors.ts';
export * from './normalize.ts';
export * from './splits.ts';
export * from './shards.ts';
export * from './load.ts';
export { readFeatureRecordsJsonl, writeFeatureRecordsJsonl } from './jsonl.ts';
export { readNeuronRecordFile, readNeuronRecordDirectory } from './openai-neuron-record.ts';
export * from './format-records.ts';
export * from './build-from-dense.ts';
