/**
 * @module sae/sparse-column-store — the nonzero values of many columns (SAE latents over the tokens of a cache),
 * appended a block of rows at a time and densified a few columns at a time. An SAE latent is zero on most tokens
 * (L0 of tens out of thousands of latents), so every latent of a cache fits in memory this way where the dense
 * [tokens × latents] matrix would not: 8 bytes a nonzero (its row and its value), plus the arrays' growth slack.
 */

/** One column's nonzeros, rows ascending. */
interface SparseColumn {
  rows: Int32Array;
  values: Float32Array;
  count: number;
}

const INITIAL_CAPACITY = 16;

export class SparseColumnStore {
  private columns: (SparseColumn | null)[];
  /** Bytes of the columns' arrays (capacity, not just the nonzeros held). */
  bytes = 0;

  constructor(columnCount: number) {
    this.columns = Array.from({ length: columnCount }, () => null);
  }

  get columnCount(): number {
    return this.columns.length;
  }

  /**
   * Appends the nonzeros of a dense block, row-major [blockRows × columnCount], whose first row is row `firstRow`;
   * blocks come in row order.
   */
  appendBlock(block: Float32Array, firstRow: number): void {
    const width = this.columns.length;
    const blockRows = block.length / width;
    for (let row = 0; row < blockRows; row++) {
      const base = row * width;
      for (let column = 0; column < width; column++) {
        const value = block[base + column]!;
        if (value !== 0) this.push(column, firstRow + row, value);
      }
    }
  }

  /** Keeps the first `count` columns, dropping the others' nonzeros. */
  truncate(count: number): void {
    for (let column = count; column < this.columns.length; column++) this.release(column);
    this.columns.length = Math.min(count, this.columns.length);
  }

  /**
   * Columns [first, end) as a dense row-major [rowCount × (end − first)] array; their nonzeros are released (each
   * column is densified once).
   */
  takeDense(first: number, end: number, rowCount: number): Float32Array {
    const width = end - first;
    const out = new Float32Array(rowCount * width);
    for (let column = first; column < end; column++) {
      const stored = this.columns[column];
      if (!stored) continue;
      const offset = column - first;
      for (let index = 0; index < stored.count; index++)
        out[stored.rows[index]! * width + offset] = stored.values[index]!;
      this.release(column);
    }
    return out;
  }

  private push(column: number, row: number, value: number): void {
    let stored = this.columns[column];
    if (!stored) {
      stored = { rows: new Int32Array(INITIAL_CAPACITY), values: new Float32Array(INITIAL_CAPACITY), count: 0 };
      this.columns[column] = stored;
      this.bytes += INITIAL_CAPACITY * 8;
    } else if (stored.count === stored.rows.length) {
      const capacity = stored.rows.length * 2;
      const rows = new Int32Array(capacity);
      rows.set(stored.rows);
      const values = new Float32Array(capacity);
      values.set(stored.values);
      this.bytes += (capacity - stored.rows.length) * 8;
      stored.rows = rows;
      stored.values = values;
    }
    stored.rows[stored.count] = row;
    stored.values[stored.count] = value;
    stored.count++;
  }

  private release(column: number): void {
    const stored = this.columns[column];
    if (!stored) return;
    this.bytes -= stored.rows.length * 8;
    this.columns[column] = null;
  }
}
