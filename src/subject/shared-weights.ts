/**
 * @module subject/shared-weights — a model's host weights packed into one SharedArrayBuffer, so that every worker of a
 * pool (./worker-pool.ts) reads the same bytes: copied once here, never per worker or per request.
 */
import type { Gpt2Weights } from './types.ts';

/** The weights in one shared buffer: each tensor's name, shape and offset (in floats). */
export interface SharedWeights {
  buffer: SharedArrayBuffer;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
}

/** Copies the weights into one SharedArrayBuffer. */
export function shareWeights(weights: Gpt2Weights): SharedWeights {
  let total = 0;
  const tensors: SharedWeights['tensors'] = [];
  for (const [name, tensor] of weights) {
    tensors.push({ name, shape: [...tensor.shape], offset: total, length: tensor.data.length });
    total += tensor.data.length;
  }
  const buffer = new SharedArrayBuffer(total * Float32Array.BYTES_PER_ELEMENT);
  const floats = new Float32Array(buffer);
  for (const entry of tensors) floats.set(weights.get(entry.name)!.data, entry.offset);
  return { buffer, tensors };
}

/** The weights as views of the shared buffer (no copy). */
export function sharedWeightViews(shared: SharedWeights): Gpt2Weights {
  const weights: Gpt2Weights = new Map();
  for (const { name, shape, offset, length } of shared.tensors)
    weights.set(name, {
      shape,
      data: new Float32Array(shared.buffer, offset * Float32Array.BYTES_PER_ELEMENT, length),
    });
  return weights;
}
