/**
 * @module common/float16 — IEEE 754 half floats (binary16): exact decoding, encoding rounded once to nearest even,
 * a bulk encoder for Float32Arrays and a decode table. Used by the safetensors reader and writer and the activation
 * cache; the one place these conversions are written.
 */

/** IEEE 754 binary16 bits → number (exact). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const rest = value - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

/**
 * number → IEEE 754 binary16 bits, rounded once to nearest even from the exact value (no double rounding through
 * float32): |x| ≥ 65520 → ±Inf, |x| ≤ 2^-25 → ±0, subnormals below 2^-14, NaN → 0x7e00.
 */
export function floatToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  if (magnitude < 2 ** -14) return sign | roundHalfToEven(magnitude * 2 ** 24); // 1024 here is the smallest normal
  let exponent = Math.floor(Math.log2(magnitude));
  if (2 ** exponent > magnitude) exponent -= 1;
  else if (2 ** (exponent + 1) <= magnitude) exponent += 1;
  // Every step is exact: scaling by a power of two, 1 ≤ m < 2 minus 1, times 1024. A carry to 1024 bumps the exponent.
  const fraction = roundHalfToEven((magnitude / 2 ** exponent - 1) * 1024);
  return sign | (((exponent + 15) << 10) + fraction);
}

/**
 * Half-float bits of every element of a Float32Array, as {@link floatToHalf} gives them. Works on the float bits in
 * place of a function call per element (the normal range is integer arithmetic, after F. Giesen's
 * float_to_half_fast3_rtne): about 3× faster, which matters at 512 features a token.
 */
export function float32ToHalfBits(
  values: Float32Array,
  out: Uint16Array = new Uint16Array(values.length),
): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let index = 0; index < bits.length; index++) {
    const word = bits[index]!;
    const magnitude = word & 0x7fffffff;
    if (magnitude >= 0x38800000 && magnitude < 0x47800000) {
      // Normal half: rebias the exponent, add the rounding bias (0xfff, +1 when the kept mantissa is odd), shift.
      out[index] = ((word >>> 16) & 0x8000) | ((magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13);
    } else {
      out[index] = floatToHalf(values[index]!);
    }
  }
  return out;
}

let halfFloatTableCache: Float32Array | null = null;

/** All 65536 half floats as float32, indexed by their bits (built on first use). */
export function halfFloatTable(): Float32Array {
  if (!halfFloatTableCache) {
    halfFloatTableCache = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) halfFloatTableCache[bits] = halfToFloat(bits);
  }
  return halfFloatTableCache;
}
