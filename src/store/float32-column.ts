/**
 * @module store/float32-column — how numeric series are stored (`records.activations`, `simulations.expected`):
 * little-endian float32 BLOBs, 4 bytes a value, NaN where a value is missing (an expected value the simulator did
 * not give). In Python: `numpy.frombuffer(blob, '<f4')`.
 *
 * Why not JSON text (schema ≤ 5): the rows were 1.7× slower to write and the file 1.6× larger (bench/store-write);
 * a series of 64 doubles took ~1.2 kB instead of 256 bytes. float32 is the precision of the models' activations; scores
 * are computed from the full-precision values before they are stored. Databases of schema ≤ 5 are converted by
 * migration 6; the decoder still reads JSON text (e.g. rows merged in from an older database's file).
 */
import { endianness } from 'node:os';

const littleEndianHost = endianness() === 'LE';

/**
 * The BLOB of `values` (null → NaN). Written through a Float32Array over the BLOB where the host is little-endian (the
 * same bytes as `writeFloatLE`, which converts through a Float32Array too, at a third of its time: a run encodes every
 * window's activations and every simulated record's expected values).
 */
export function encodeFloat32Column(values: readonly (number | null)[]): Buffer {
  return encodeFloat32ColumnInto(values, Buffer.allocUnsafe(values.length * 4));
}

/**
 * Writes the BLOB of `values` into the first `values.length * 4` bytes of `target` and returns those bytes. A target
 * that starts on a 4-byte boundary of its memory (every `Buffer.allocUnsafe`: the pool hands out 8-byte aligned slices)
 * is written through a Float32Array; any other (a subarray at an odd offset), and every target on a big-endian host,
 * through `writeFloatLE`.
 */
export function encodeFloat32ColumnInto(values: readonly (number | null)[], target: Buffer): Buffer {
  const bytes = values.length * 4;
  if (target.byteLength < bytes)
    throw new RangeError(
      `float32 series of ${values.length} values needs ${bytes} bytes, the target has ${target.byteLength}`,
    );
  const blob = target.subarray(0, bytes);
  if (littleEndianHost && blob.byteOffset % 4 === 0) {
    const floats = new Float32Array(blob.buffer, blob.byteOffset, values.length);
    for (let i = 0; i < values.length; i++) floats[i] = values[i] ?? Number.NaN;
  } else for (let i = 0; i < values.length; i++) blob.writeFloatLE(values[i] ?? Number.NaN, i * 4);
  return blob;
}

/** The values of a stored series (NaN → null); JSON text from schema ≤ 5 is parsed. */
export function decodeFloat32Column(stored: Uint8Array | string): (number | null)[] {
  if (typeof stored === 'string') return JSON.parse(stored) as (number | null)[];
  if (stored.byteLength % 4 !== 0)
    throw new Error(`stored float32 series has ${stored.byteLength} bytes, not a multiple of 4`);
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  const values = new Array<number | null>(stored.byteLength / 4);
  for (let i = 0; i < values.length; i++) {
    const value = view.getFloat32(i * 4, true);
    values[i] = Number.isNaN(value) ? null : value;
  }
  return values;
}

/** A stored value in the current format: BLOBs pass through, JSON text of older schemas is converted. */
export function toFloat32Column(stored: unknown): Buffer {
  if (Buffer.isBuffer(stored)) return stored;
  if (typeof stored === 'string') return encodeFloat32Column(JSON.parse(stored) as (number | null)[]);
  throw new Error(`not a stored numeric series: ${typeof stored}`);
}
