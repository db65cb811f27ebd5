/**
 * @module records/canonical-record — a fast path for validating a parsed FeatureRecord: one walk over the value,
 * without the copies zod makes, that accepts only what `FeatureRecordSchema` accepts and returns unchanged (valid,
 * and no key the schema does not know, which zod would strip). Anything else, invalid or merely unusual, is left to
 * the schema, which gives the error that names the field. A run reads every record twice (docs/DESIGN.md §4), so
 * this walk runs for every record of every run.
 */
import type { FeatureRecord } from './types.ts';

type Plain = Record<string, unknown>;

const isObject = (value: unknown): value is Plain =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Whether every own key of `value` is one of `known` (which lists them all, optional ones included). */
function onlyKeys(value: Plain, known: readonly string[]): boolean {
  for (const key in value) if (!known.includes(key)) return false;
  return true;
}

const isFinite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
  return true;
}

function isFiniteArray(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!isFinite(value[i])) return false;
  return true;
}

function isTokenIdArray(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) {
    const id = value[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) return false;
  }
  return true;
}

const WINDOW_KEYS = ['tokens', 'activations', 'tokenIds', 'contextIds'] as const;

function isWindow(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, WINDOW_KEYS)) return false;
  const { tokens, activations, tokenIds, contextIds } = value;
  if (!isStringArray(tokens) || tokens.length === 0) return false;
  if (!isFiniteArray(activations) || activations.length !== tokens.length) return false;
  if ('tokenIds' in value && !(isTokenIdArray(tokenIds) && tokenIds.length === tokens.length)) return false;
  if ('contextIds' in value && !(isTokenIdArray(contextIds) && 'tokenIds' in value)) return false;
  return true;
}

function isWindowArray(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (!isWindow(value[i])) return false;
  return true;
}

const ID_KEYS = ['model', 'layer', 'kind', 'index', 'sae'] as const;

function isId(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, ID_KEYS)) return false;
  const { model, layer, kind, index, sae } = value;
  return (
    isNonEmptyString(model) &&
    (isCount(layer) || isNonEmptyString(layer)) &&
    (kind === 'neuron' || kind === 'sae') &&
    isCount(index) &&
    (!('sae' in value) || isNonEmptyString(sae))
  );
}

const STATS_KEYS = ['mean', 'variance', 'skewness', 'kurtosis', 'maxActivation', 'density'] as const;
const isFiniteOrNull = (value: unknown) => value === null || isFinite(value);

function isStats(value: unknown): boolean {
  if (!isObject(value) || !onlyKeys(value, STATS_KEYS)) return false;
  const { density } = value;
  return (
    isFiniteOrNull(value.mean) &&
    isFiniteOrNull(value.variance) &&
    isFiniteOrNull(value.skewness) &&
    isFiniteOrNull(value.kurtosis) &&
    isFinite(value.maxActivation) &&
    (density === null || (isFinite(density) && density >= 0 && density <= 1))
  );
}

const RECORD_KEYS = ['id', 'top', 'random', 'quantiles', 'quantileBoundaries', 'stats'] as const;

/**
 * True when `value` is a FeatureRecord exactly as `FeatureRecordSchema.parse` would return it (so it can be used as
 * is); false when it is invalid or carries keys the schema would strip (then parse it with the schema).
 */
export function isCanonicalFeatureRecord(value: unknown): value is FeatureRecord {
  if (!isObject(value) || !onlyKeys(value, RECORD_KEYS)) return false;
  if (!isId(value.id) || !isStats(value.stats)) return false;
  if (!isWindowArray(value.top) || !isWindowArray(value.random)) return false;
  if ('quantiles' in value) {
    const { quantiles } = value;
    if (!Array.isArray(quantiles)) return false;
    for (const bin of quantiles) if (!isWindowArray(bin)) return false;
  }
  return !('quantileBoundaries' in value) || isFiniteArray(value.quantileBoundaries);
}
