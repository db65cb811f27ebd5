/**
 * @module sae/activation-scale — the activation scale of `normalizeActivations: 'expected_average_only_in'`:
 * s = √d_in / mean‖x‖ (SAELens's and Anthropic's definition: E‖x·s‖ = √d_in), stored in the SAE config so that
 * encode/decode undo it.
 */

/** s = √d_in / mean‖x‖ over the rows of the batches (1 when every row is 0). */
export function estimateActivationScale(batches: Float32Array[], dIn: number): number {
  let normSum = 0;
  let rows = 0;
  for (const batch of batches) {
    const count = batch.length / dIn;
    for (let r = 0; r < count; r++) {
      let squares = 0;
      for (let j = 0; j < dIn; j++) squares += batch[r * dIn + j]! ** 2;
      normSum += Math.sqrt(squares);
    }
    rows += count;
  }
  const meanNorm = rows > 0 ? normSum / rows : 0;
  return meanNorm > 0 ? Math.sqrt(dIn) / meanNorm : 1;
}
