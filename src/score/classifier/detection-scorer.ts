/**
 * @module score/classifier/detection-scorer — the detection scorer with its default settings (delphi's detection):
 * does the explanation tell the windows where the feature fires from those where it does not? Kinds `detection.*`.
 */
import type { Scorer } from '../scorer.ts';
import { createClassifierScorer } from './classifier-scorer.ts';

export const detectionScorer: Scorer = createClassifierScorer('detection');
