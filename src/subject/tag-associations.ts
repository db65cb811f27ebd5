/**
 * @module subject/tag-associations — how features track Brown base tags: for each feature and each base tag t
 * (`parseBrownTag(tag).parts[0]`), the point-biserial correlation r between the activation and the indicator "the
 * token's word has base tag t", over all tokens of the records (tokens without a tag count as not-t). The tag with the
 * highest r is the feature's best tag; it becomes a POS reference label when r reaches a threshold (see
 * ./records-from-cache.ts).
 */

/** How a feature's activation tracks a Brown base tag: the point-biserial correlation over the cache's tokens. */
export interface TagAssociation {
  /** Brown base tag, e.g. "at". */
  tag: string;
  /** Point-biserial r between the activation and the tag's indicator, in [−1, 1]. */
  score: number;
  /** Tokens with the tag. */
  tagTokens: number;
  /** Mean activation on tokens with the tag and on the others. */
  meanOnTag: number;
  meanOffTag: number;
}

/** A POS reference label: the tag a feature tracks, stated as an explanation can be checked against. */
export interface ReferenceLabel extends TagAssociation {
  /** e.g. `Brown tag "at": articles ("the", "a", "an", "no")`. */
  description: string;
  /** Always "point-biserial r" (the measure behind `score`). */
  measure: 'point-biserial r';
}

/**
 * For each column of a row-major [rows × k] chunk, the base tag with the highest point-biserial correlation
 * r = (mean_t − mean) / σ · √(p / (1 − p)) (population σ, p = share of rows with the tag), or null when the column is
 * constant or no tag occurs.
 */
export function tagAssociations(
  values: Float32Array,
  k: number,
  rowTag: Int32Array,
  tags: readonly string[],
): (TagAssociation | null)[] {
  const n = rowTag.length;
  const tagCount = tags.length;
  const sums = new Float64Array(k);
  const squares = new Float64Array(k);
  const tagSums = new Float64Array(tagCount * k);
  const tagRows = new Float64Array(tagCount);
  for (let row = 0; row < n; row++) {
    const tag = rowTag[row]!;
    const base = row * k;
    if (tag >= 0) {
      tagRows[tag]! += 1;
      const target = tag * k;
      for (let column = 0; column < k; column++) {
        const value = values[base + column]!;
        sums[column]! += value;
        squares[column]! += value * value;
        tagSums[target + column]! += value;
      }
    } else {
      for (let column = 0; column < k; column++) {
        const value = values[base + column]!;
        sums[column]! += value;
        squares[column]! += value * value;
      }
    }
  }
  const out: (TagAssociation | null)[] = [];
  for (let column = 0; column < k; column++) {
    const mean = sums[column]! / n;
    const variance = squares[column]! / n - mean * mean;
    if (!(variance > 1e-12 * Math.max(1, mean * mean))) {
      out.push(null);
      continue;
    }
    const sigma = Math.sqrt(variance);
    let best: TagAssociation | null = null;
    for (let tag = 0; tag < tagCount; tag++) {
      const count = tagRows[tag]!;
      if (count === 0 || count === n) continue;
      const meanOnTag = tagSums[tag * k + column]! / count;
      const meanOffTag = (sums[column]! - tagSums[tag * k + column]!) / (n - count);
      const p = count / n;
      const score = ((meanOnTag - mean) / sigma) * Math.sqrt(p / (1 - p));
      if (!best || score > best.score) best = { tag: tags[tag]!, score, tagTokens: count, meanOnTag, meanOffTag };
    }
    out.push(best);
  }
  return out;
}
