/**
 * @module report/record-packing — heat-map records packed into one base64-alphabet string each, so that a report
 * of 10,000 features stays a few KiB per feature. Layout of a record of n tokens, with w characters per token id:
 * n·w characters of token ids (vocabulary indices, big-endian base 64), then n characters of true activations
 * quantized to 0–63 of `scale` (relu(x)/scale, the largest shown activation of the feature), then n characters of
 * simulated expected values quantized to 0–62 of 10 (63 = missing prediction). What the report shows is a heat map
 * and approximate values; exact numbers are in the database and in `autointerp export`.
 * The page script decodes with the same layout (report-assets.ts).
 */

export const PACK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Quantization steps: true activations 0..63 of the scale, expected values 0..62 of 10, 63 = missing. */
export const ACTIVATION_LEVELS = 63;
export const EXPECTED_LEVELS = 62;
export const MISSING_CODE = 63;

/** Characters per token id for a vocabulary of `size` tokens (at least 1). */
export function tokenIdWidth(size: number): number {
  let width = 1;
  while (64 ** width < size) width++;
  return width;
}

const digit = (value: number) => PACK_ALPHABET[value]!;

/** Token ids alone, `width` characters each (big-endian base 64): the first part of a packed record. */
export function packTokenIds(tokenIds: readonly number[], width: number): string {
  let ids = '';
  for (const id of tokenIds) {
    let chunk = '';
    let rest = id;
    for (let k = 0; k < width; k++) {
      chunk = digit(rest % 64) + chunk;
      rest = Math.floor(rest / 64);
    }
    ids += chunk;
  }
  return ids;
}

export function packRecord(
  tokenIds: readonly number[],
  activations: readonly number[],
  expected: readonly (number | null)[] | null,
  scale: number,
  width: number,
): string {
  const ids = packTokenIds(tokenIds, width);
  let acts = '';
  for (const a of activations)
    acts += digit(scale > 0 ? Math.round((ACTIVATION_LEVELS * Math.min(scale, Math.max(0, a))) / scale) : 0);
  let sims = '';
  for (let i = 0; i < tokenIds.length; i++) {
    const e = expected ? expected[i] : null;
    sims += digit(
      e === null || e === undefined ? MISSING_CODE : Math.round((EXPECTED_LEVELS * Math.min(10, Math.max(0, e))) / 10),
    );
  }
  return ids + acts + sims;
}

export interface UnpackedRecord {
  tokenIds: number[];
  /** Approximate relu activations (level / 63 · scale). */
  activations: number[];
  /** Approximate expected values (level / 62 · 10); null = missing. */
  expected: (number | null)[];
}

/** The inverse of packTokenIds (used by tests; the page has its own copy). */
export function unpackTokenIds(packed: string, width: number): number[] {
  return Array.from({ length: packed.length / width }, (_, t) => {
    let id = 0;
    for (let k = 0; k < width; k++) id = id * 64 + PACK_ALPHABET.indexOf(packed[t * width + k]!);
    return id;
  });
}

/** The inverse of packRecord, up to the quantization (used by tests; the page has its own copy). */
export function unpackRecord(packed: string, scale: number, width: number): UnpackedRecord {
  const n = packed.length / (width + 2);
  const value = (i: number) => PACK_ALPHABET.indexOf(packed[i]!);
  const tokenIds: number[] = [];
  for (let t = 0; t < n; t++) {
    let id = 0;
    for (let k = 0; k < width; k++) id = id * 64 + value(t * width + k);
    tokenIds.push(id);
  }
  const activations = Array.from({ length: n }, (_, t) => (value(n * width + t) / ACTIVATION_LEVELS) * scale);
  const expected = Array.from({ length: n }, (_, t) => {
    const code = value(n * width + n + t);
    return code === MISSING_CODE ? null : (code / EXPECTED_LEVELS) * 10;
  });
  return { tokenIds, activations, expected };
}
