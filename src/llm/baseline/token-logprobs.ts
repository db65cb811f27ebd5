/**
 * @module llm/baseline/token-logprobs — builds the per-token logprob list of a rule-based answer: at each value
 * position (the piece that begins at or covers the value's first character) the value distribution's top-k, with
 * the text of the piece before the value as a prefix of every alternative; elsewhere a filler logprob.
 */
import type { TokenLogprob } from '../types.ts';
import { fillerLogprob, fillerTopLogprobs } from './filler-logprobs.ts';
import { pieceCovering, pieceOffsets } from './token-offsets.ts';
import type { ValueDistributionOptions } from './value-distribution.ts';
import { topLogprobsOf, valueDistribution } from './value-distribution.ts';

/** A value the model "writes" or is asked about, at `offset` in the concatenated pieces, predicted as `prediction`. */
export interface ValuePosition {
  offset: number;
  /** Predicted activation, 0–10. */
  prediction: number;
}

export interface TokenLogprobsOptions {
  /** Alternatives per position. */
  topK: number;
  /** Added to every text offset (the prompt length, for completion tokens after an echoed prompt). Default 0. */
  baseOffset?: number;
  /** The first piece gets logprob null and no alternatives, as in an echoed prompt. Default false. */
  firstHasNoLogprob?: boolean;
  distribution?: ValueDistributionOptions;
}

/** Token logprobs for `pieces`, whose concatenation holds the value positions. */
export function buildTokenLogprobs(
  pieces: readonly string[],
  values: readonly ValuePosition[],
  options: TokenLogprobsOptions,
): TokenLogprob[] {
  const offsets = pieceOffsets(pieces);
  const valueAtPiece = new Map<number, ValuePosition>();
  for (const value of values) {
    const index = pieceCovering(pieces, offsets, value.offset);
    if (index >= 0) valueAtPiece.set(index, value);
  }
  const baseOffset = options.baseOffset ?? 0;
  return pieces.map((piece, index) => {
    const textOffset = baseOffset + (offsets[index] ?? 0);
    if (index === 0 && options.firstHasNoLogprob) return { token: piece, logprob: null, topLogprobs: {}, textOffset };
    const value = valueAtPiece.get(index);
    if (!value) {
      return {
        token: piece,
        logprob: fillerLogprob(piece),
        topLogprobs: fillerTopLogprobs(piece, options.topK),
        textOffset,
      };
    }
    const prefix = piece.slice(0, value.offset - (offsets[index] ?? 0));
    const alternatives = valueDistribution(value.prediction, options.distribution);
    const own = alternatives.find((alternative) => prefix + alternative.text === piece);
    const smallest = alternatives.at(-1)?.probability ?? 1e-6;
    return {
      token: piece,
      logprob: Math.log(own?.probability ?? smallest),
      topLogprobs: topLogprobsOf(alternatives, options.topK, prefix),
      textOffset,
    };
  });
}
