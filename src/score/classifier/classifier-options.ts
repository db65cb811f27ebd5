/**
 * @module score/classifier/classifier-options — the settings of the detection and fuzzing scorers, with their
 * defaults (docs/DESIGN.md §4, "Detection and fuzzing").
 */

export interface ClassifierOptions {
  /** Examples shown in one judge prompt (delphi's default 5). */
  examplesPerPrompt: number;
  /**
   * Longest window shown, in tokens: windows are cut around their strongest token (activating) or are spans where
   * the feature does not fire (non-activating). All examples of a feature get one length, the longest ≤ this (and ≤ the
   * shortest activating record) at which the records hold enough non-activating windows, but never shorter than
   * `minWindowTokens` (shorter activating records are left out while longer ones exist).
   */
  maxWindowTokens: number;
  minWindowTokens: number;
  /** A token fires when its activation is above this fraction of the feature's max activation (0: above 0). */
  firingFraction: number;
  /** At most this many activating examples (from the top and quantile records of the calibration and score splits). */
  maxActivatingExamples: number;
  /** Non-activating examples per activating one (1: balanced classes). */
  nonActivatingPerActivating: number;
  /** Share of the non-activating examples that may be hard negatives (the feature's top tokens, not firing). */
  hardNegativeShare: number;
  /** How many of the explain split's strongest distinct tokens count as the feature's top tokens. */
  topTokenCount: number;
  /** Fuzzing: a token of an activating window is highlighted when its activation ≥ this × the window's max. */
  highlightFraction: number;
  /** Ask the judge for logprobs (when its provider serves chat logprobs) to compute AUROC. */
  askLogprobs: boolean;
}

export const defaultClassifierOptions: ClassifierOptions = {
  examplesPerPrompt: 5,
  maxWindowTokens: 24,
  minWindowTokens: 8,
  firingFraction: 0.05,
  maxActivatingExamples: 25,
  nonActivatingPerActivating: 1,
  hardNegativeShare: 0.5,
  topTokenCount: 5,
  highlightFraction: 0.3,
  askLogprobs: true,
};
