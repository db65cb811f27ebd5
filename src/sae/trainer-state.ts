/**
 * @module sae/trainer-state — everything a resumed SAE training run needs, as host values (written to disk by
 * ./checkpoint.ts, exported and restored by ./sae-trainer.ts).
 */
import type { ResolvedSaeTrainingOptions } from './training-options.ts';

/** A host copy of a tensor. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

/** Everything a resumed run needs (see ./checkpoint.ts for the files). */
export interface SaeTrainerState {
  options: ResolvedSaeTrainingOptions;
  /** The activation scale s (1 without normalization). */
  activationScale: number;
  step: number;
  tokens: number;
  /** Tokens counted in the current density window (see `densityWindow`). */
  windowTokens: number;
  /**
   * W_enc [d_in,d_sae], b_enc, W_dec [d_sae,d_in], b_dec, their Adam moments (`m.W_enc`, `v.W_enc`, …),
   * `tokens_since_fired` [d_sae] and `window_counts` [d_sae].
   */
  tensors: Record<string, StateTensor>;
}
