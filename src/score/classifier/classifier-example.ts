/**
 * @module score/classifier/classifier-example — one window a detection or fuzzing judge is shown, with the truth
 * about it: activating (from a top or quantile record) or not (a random span where the feature does not fire, or a
 * hard negative: a span holding one of the feature's top tokens where it does not fire).
 */
import type { RecordSource } from '../../records/types.ts';

export type ExampleSource = RecordSource | 'hard-negative' | 'random-negative';

export interface ClassifierExample {
  /** The window's tokens, as cut from its record. */
  tokens: string[];
  /** The feature's raw activations on those tokens. */
  activations: number[];
  /** True for an activating window. */
  activating: boolean;
  /** The record source of an activating window (`top`, `quantile-i`), or how a non-activating one was chosen. */
  source: ExampleSource;
}
