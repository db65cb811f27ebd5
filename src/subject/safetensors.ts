/**
 * @module subject/safetensors — reads and writes the safetensors format (Hugging Face): an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the data.
 *
 * Reading gives float32 for F32, F16, BF16 and F64 (and int32 for I32/I64 within range); the header is checked
 * (offsets in bounds, byte lengths matching shapes, no overlaps) with errors naming the file and the tensor. Writing
 * supports F32 and F16 (round to nearest even), tensors sorted by name, header padded with spaces to 8 bytes.
 * No maintained npm library was found for this (the format is a few dozen lines), so it is written here.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64';

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** F32/F16/BF16/F64 → Float32Array; I32/I64 → Int32Array. */
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

const bytesPerElement: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** IEEE 754 half → float. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const float32 = new Float32Array(1);
const uint32 = new Uint32Array(float32.buffer);

/** float → IEEE 754 half bits, rounding to nearest even (overflow → ±Inf, NaN kept). */
export function floatToHalf(value: number): number {
  float32[0] = value;
  const x = uint32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small even for a subnormal half
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const rounded = remainder > halfway || (remainder === halfway && (half & 1)) ? half + 1 : half;
    return sign | rounded;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half += 1; // may carry into the exponent: correct
  e = half >>> 10;
  return sign | (e >= 31 ? 0x7c00 : half);
}

function decode(file: string, name: string, dtype: SafetensorsDtype, bytes: Buffer): Float32Array | Int32Array {
  const count = bytes.length / bytesPerElement[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count).slice();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const value = view.getBigInt64(i * 8, true);
        if (value > 2147483647n || value < -2147483648n) throw new SafetensorsError(file, `tensor ${name}: I64 value ${value} does not fit in int32`);
        out[i] = Number(value);
      }
      return out;
    }
  }
}

/** Parses safetensors bytes; `file` names the source in errors. */
export function parseSafetensors(buffer: Buffer, file: string): SafetensorsFile {
  if (buffer.length < 8) throw new SafetensorsError(file, `too short (${buffer.length} bytes) to be a safetensors file`);
  const headerLength = Number(buffer.readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > buffer.length) {
    throw new SafetensorsError(file, `header length ${headerLength} does not fit in the file (${buffer.length} bytes)`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buffer.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError(file, 'header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = buffer.length - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  const ranges: [number, number, string][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !(e.dtype in bytesPerElement)) {
      throw new SafetensorsError(file, `tensor ${name}: unsupported dtype ${JSON.stringify(e?.dtype)} (supported: ${Object.keys(bytesPerElement).join(', ')})`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new SafetensorsError(file, `tensor ${name}: shape must be a list of non-negative integers`);
    }
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((n) => Number.isInteger(n) && n >= 0)) {
      throw new SafetensorsError(file, `tensor ${name}: data_offsets must be [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) throw new SafetensorsError(file, `tensor ${name}: data_offsets [${begin}, ${end}] outside the data (${dataLength} bytes)`);
    const shape = e.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * bytesPerElement[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(file, `tensor ${name}: ${end - begin} bytes for shape [${shape.join(', ')}] ${dtype}, expected ${expected}`);
    }
    ranges.push([begin, end, name]);
    const data = decode(file, name, dtype, buffer.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { dtype, shape, data });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw new SafetensorsError(file, `tensors ${ranges[i - 1]![2]} and ${ranges[i]![2]} overlap`);
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch (error) {
    throw new SafetensorsError(file, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseSafetensors(buffer, file);
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
}

/** Serializes tensors (sorted by name) as F32 or F16 with optional string metadata. */
export function serializeSafetensors(tensors: Map<string, TensorToWrite>, options: { dtype?: 'F32' | 'F16'; metadata?: Record<string, string> } = {}): Buffer {
  const dtype = options.dtype ?? 'F32';
  const size = bytesPerElement[dtype];
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + count * size] };
    offset += count * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    if (dtype === 'F32') {
      Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, at);
      at += data.byteLength;
    } else {
      for (let i = 0; i < data.length; i++, at += 2) out.writeUInt16LE(floatToHalf(data[i]!), at);
    }
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Map<string, TensorToWrite>, options: { dtype?: 'F32' | 'F16'; metadata?: Record<string, string> } = {}): void {
  writeFileSync(file, serializeSafetensors(tensors, options));
}
