/** @module records/types — the data model of docs/DESIGN.md §3, as zod schemas (validated at every boundary) and TS types. */
import { z } from 'zod';

const finiteNumber = z.number({
  error: (issue) =>
    typeof issue.input === 'number'
      ? 'must be a finite number (no NaN or Infinity)'
      : `expected a number, got ${issue.input === null ? 'null' : typeof issue.input}`,
});

/**
 * An array whose every element passes `test`, checked in one loop: records hold millions of tokens, and a schema per
 * element costs several times more. The issue names the first bad index.
 */
function arrayOf<T>(test: (value: unknown) => value is T, describe: (value: unknown) => string) {
  return z.custom<T[]>().check((context) => {
    const value = context.value as unknown;
    if (!Array.isArray(value)) {
      context.issues.push({
        code: 'custom',
        message: `expected an array, got ${value === null ? 'null' : typeof value}`,
        input: value,
      });
      return;
    }
    for (let i = 0; i < value.length; i++) {
      if (!test(value[i])) {
        context.issues.push({ code: 'custom', message: describe(value[i]), input: value[i], path: [i] });
        return;
      }
    }
  });
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const describeNumber = (value: unknown) =>
  typeof value === 'number'
    ? 'must be a finite number (no NaN or Infinity)'
    : `expected a number, got ${value === null ? 'null' : typeof value}`;

const isTokenId = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;
const describeTokenId = (value: unknown) => `expected a token id (integer ≥ 0), got ${JSON.stringify(value)}`;

/**
 * One text window: tokens and the raw activation of one feature on each token. Records extracted from a subject
 * model also carry the token ids of the window and of what the model saw before it in the same sequence (e.g. the
 * inserted `<|endoftext|>`), so that the window can be run through the model again (ablation scoring).
 */
export const ActivationRecordSchema = z
  .object({
    tokens: arrayOf(isString, (value) => `expected a string, got ${value === null ? 'null' : typeof value}`).refine(
      (tokens) => tokens.length > 0,
      'record has no tokens',
    ),
    activations: arrayOf(isFiniteNumber, describeNumber),
    tokenIds: arrayOf(isTokenId, describeTokenId).optional(),
    contextIds: arrayOf(isTokenId, describeTokenId).optional(),
  })
  .refine((r) => r.tokens.length === r.activations.length, {
    message: 'tokens and activations differ in length',
  })
  .refine((r) => r.tokenIds === undefined || r.tokenIds.length === r.tokens.length, {
    message: 'tokenIds and tokens differ in length',
  })
  .refine((r) => r.contextIds === undefined || r.tokenIds !== undefined, {
    message: 'contextIds without tokenIds',
  });
export type ActivationRecord = z.infer<typeof ActivationRecordSchema>;

export const FeatureKindSchema = z.enum(['neuron', 'sae']);
export type FeatureKind = z.infer<typeof FeatureKindSchema>;

/** Where a feature lives. `layer` is a number or a hook name (`blocks.0.mlp.hook_post`); leaderboards group by it. */
export const FeatureIdSchema = z.object({
  model: z.string().min(1),
  layer: z.union([z.number().int().nonnegative(), z.string().min(1)]),
  kind: FeatureKindSchema,
  index: z.number().int().nonnegative(),
  sae: z.string().min(1).optional(),
});
export type FeatureId = z.infer<typeof FeatureIdSchema>;

/**
 * Moments and sparsity of a feature's raw activations over the whole corpus it was built from. Null where the
 * source did not provide it (imported records) or it is undefined (skewness of a constant series).
 */
export const FeatureStatsSchema = z.object({
  mean: finiteNumber.nullable(),
  variance: finiteNumber.nullable(),
  skewness: finiteNumber.nullable(),
  kurtosis: finiteNumber.nullable(),
  /** Max raw activation over the corpus (or over the records, for imported data). */
  maxActivation: finiteNumber,
  /** Fraction of tokens with activation > 0. */
  density: z.number().min(0).max(1).nullable(),
});
export type FeatureStats = z.infer<typeof FeatureStatsSchema>;

/** Everything the pipeline needs about one feature: its top-activating and random windows, and stats. */
export const FeatureRecordSchema = z.object({
  id: FeatureIdSchema,
  top: z.array(ActivationRecordSchema),
  random: z.array(ActivationRecordSchema),
  quantiles: z.array(z.array(ActivationRecordSchema)).optional(),
  quantileBoundaries: z.array(finiteNumber).optional(),
  stats: FeatureStatsSchema,
});
export type FeatureRecord = z.infer<typeof FeatureRecordSchema>;

/**
 * What the numbers of an activation series mean (after the reference's `ActivationScale`):
 * raw feature activations, or the simulator's expected values on the normalized 0–10 scale.
 */
export type ActivationScale = 'raw' | 'normalized-0-10';

/** The role a record plays for one feature. Explain and score sets never share a record. */
export type RecordSplit = 'explain' | 'calibration' | 'score';
/** Where a record came from: the top-activating list, the random sample, or quantile bin `q{i}`. */
export type RecordSource = 'top' | 'random' | `quantile-${number}`;

export interface SplitRecord {
  split: RecordSplit;
  source: RecordSource;
  record: ActivationRecord;
}
