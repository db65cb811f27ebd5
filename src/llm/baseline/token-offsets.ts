/** @module llm/baseline/token-offsets — character offsets of token pieces and the piece covering an offset. */

/** Start offset of each piece in the concatenation of `pieces` (plus `baseOffset`). */
export function pieceOffsets(pieces: readonly string[], baseOffset = 0): number[] {
  const offsets: number[] = [];
  let offset = baseOffset;
  for (const piece of pieces) {
    offsets.push(offset);
    offset += piece.length;
  }
  return offsets;
}

/**
 * Index of the piece that begins at or covers `offset` (the last piece starting at or before it, skipping empty
 * pieces); -1 when `offset` is before the first piece or past the end.
 */
export function pieceCovering(pieces: readonly string[], offsets: readonly number[], offset: number): number {
  let low = 0;
  let high = offsets.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((offsets[middle] ?? 0) <= offset) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  while (found >= 0 && (pieces[found] ?? '').length === 0) found -= 1;
  if (found < 0) return -1;
  const end = (offsets[found] ?? 0) + (pieces[found] ?? '').length;
  return offset < end ? found : -1;
}
