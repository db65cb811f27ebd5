/**
 * @module score/classifier/fuzzing-scorer — the fuzzing scorer with its default settings (delphi's fuzzing): does
 * the explanation tell correctly highlighted activating tokens from randomly highlighted ones? Kinds `fuzzing.*`.
 */
import type { Scorer } from '../scorer.ts';
import { createClassifierScorer } from './classifier-scorer.ts';

export const fuzzingScorer: Scorer = createClassifierScorer('fuzzing');
