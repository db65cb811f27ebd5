/**
 * @module common/safetensors — reads and writes Hugging Face's safetensors format: an 8-byte little-endian header
 * length n, n bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {…}}`, then the
 * data, each tensor row-major and little-endian at [begin, end) of the data.
 *
 * Reading gives float32 for F32, F16, BF16 and F64, and int32 for I32, I64, U32, U16 and U8 (an I64 or U32 value
 * outside int32 is an error; delphi's latent caches store locations as U16 or U32); other dtypes are refused. The header is checked as the reference implementation checks it (length under
 * 100 MB, JSON object, byte lengths equal to shape × dtype size, tensors contiguous from byte 0 to the end of the file,
 * no overlap), with errors naming the file and the tensor. `readSafetensors` reads each tensor straight into its own
 * array (no whole-file buffer, so files over 2 GiB work, and tensors not asked for are not read).
 *
 * Writing gives F32, or F16 rounded to nearest even (overflow → ±Inf, NaN kept, subnormals kept), tensors laid out in
 * name order, the header padded with spaces to a multiple of 8 bytes, `__metadata__` first — the layout of the
 * reference writer. Files are written to a temporary name and renamed into place.
 *
 * No npm library was worth a dependency (the `safetensors` package is a single 0.0.1 release; @huggingface/hub only
 * parses remote headers), and the format is small, so it is written here.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InputError } from './errors.ts';
import { float32ToHalfBits, halfFloatTable } from './float16.ts';

export type SafetensorsFloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';
export type SafetensorsIntDtype = 'I32' | 'I64' | 'U32' | 'U16' | 'U8';
export type SafetensorsDtype = SafetensorsFloatDtype | SafetensorsIntDtype;

/** One tensor's header entry. `dataOffsets` are relative to the start of the data (after the header). */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [begin: number, end: number];
}

export interface SafetensorsHeader {
  /** Entries in data order (by offset). */
  entries: SafetensorsEntry[];
  /** `__metadata__` (string → string), empty when absent. */
  metadata: Record<string, string>;
  /** Byte offset of the data in the file: 8 + header length. */
  dataStart: number;
}

/** A decoded tensor: floating dtypes as float32, integer dtypes as int32; `dtype` is the one stored in the file. */
export type SafetensorsTensor =
  | { dtype: SafetensorsFloatDtype; shape: number[]; data: Float32Array }
  | { dtype: SafetensorsIntDtype; shape: number[]; data: Int32Array };

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsReadOptions {
  /** Which tensors to decode (default all); the others are still checked in the header but not read. */
  include?: (entry: SafetensorsEntry) => boolean;
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsWriteOptions {
  /** Stored dtype of every tensor (default F32). */
  dtype?: 'F32' | 'F16';
  /** `__metadata__`; Hugging Face transformers wants `{ format: 'pt' }`. */
  metadata?: Record<string, string>;
}

/** A safetensors file that cannot be read or written; the message starts with the file and names the tensor. */
export class SafetensorsError extends InputError {
  override readonly name = 'SafetensorsError';
  readonly tensor: string | undefined;
  constructor(
    readonly file: string,
    reason: string,
    options: { tensor?: string; cause?: unknown } = {},
  ) {
    super(`${file}: ${reason}`, { cause: options.cause });
    this.tensor = options.tensor;
  }
}

const bytesPerElement: Readonly<Record<SafetensorsDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
};
/** Dtypes of the format that this reader does not decode (named in the error, as opposed to unknown ones). */
const otherFormatDtypes = new Set([
  'BOOL',
  'I8',
  'I16',
  'U64',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
]);
/** The reference implementation's limit on the header length. */
const MAX_HEADER_BYTES = 100_000_000;
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === 'string' && Object.hasOwn(bytesPerElement, value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

// ——— header ———

function checkHost(file: string): void {
  if (!littleEndianHost)
    throw new SafetensorsError(file, 'this machine is big-endian; safetensors data is little-endian');
}

/** The header length from the first 8 bytes, checked against the file size. */
function headerLengthOf(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) throw new SafetensorsError(file, `too short (${fileSize} bytes) to be a safetensors file`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      file,
      `header length ${length} is over the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`,
    );
  }
  const headerLength = Number(length);
  if (8 + headerLength > fileSize) {
    throw new SafetensorsError(
      file,
      `header length ${headerLength} does not fit in the file (${fileSize} bytes; truncated or not a safetensors file)`,
    );
  }
  return headerLength;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Parses and checks the JSON header against a data section of `dataLength` bytes. */
function decodeHeader(headerBytes: Uint8Array, dataLength: number, file: string): Omit<SafetensorsHeader, 'dataStart'> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8 (not a safetensors file, or corrupt)');
  }
  if (!text.startsWith('{'))
    throw new SafetensorsError(file, 'header does not start with "{" (not a safetensors file, or corrupt)');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(file, `header is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsError(file, 'header is not a JSON object');

  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null) continue;
      if (typeof raw !== 'object' || Array.isArray(raw))
        throw new SafetensorsError(file, '__metadata__ is not an object of strings');
      for (const [key, value] of Object.entries(raw as object)) {
        if (typeof value !== 'string')
          throw new SafetensorsError(file, `__metadata__.${key} is not a string (got ${JSON.stringify(value)})`);
      }
      metadata = { ...(raw as Record<string, string>) };
      continue;
    }
    const fail = (reason: string): never => {
      throw new SafetensorsError(file, `tensor ${name}: ${reason}`, { tensor: name });
    };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('header entry is not an object');
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDtype(entry.dtype)) {
      const known = typeof entry.dtype === 'string' && otherFormatDtypes.has(entry.dtype);
      fail(
        `${known ? 'dtype' : 'unknown dtype'} ${JSON.stringify(entry.dtype)} is not supported ` +
          `(supported: ${Object.keys(bytesPerElement).join(', ')})`,
      );
    }
    const dtype = entry.dtype as SafetensorsDtype;
    if (!Array.isArray(entry.shape) || !entry.shape.every(isNonNegativeInteger)) {
      fail(`shape ${JSON.stringify(entry.shape)} is not a list of non-negative integers`);
    }
    const shape = [...(entry.shape as number[])];
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
      fail(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] in bytes`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) fail(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`);
    const expectedBytes = elementCount(shape) * bytesPerElement[dtype];
    if (end - begin !== expectedBytes) {
      fail(`${end - begin} bytes of data for shape ${formatShape(shape)} ${dtype}, expected ${expectedBytes}`);
    }
    entries.push({ name, dtype, shape, dataOffsets: [begin, end] });
  }

  // As the reference: in offset order the tensors must tile the data exactly, from 0 to its end.
  entries.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous: SafetensorsEntry | null = null;
  for (const entry of entries) {
    const [begin] = entry.dataOffsets;
    if (begin < covered) {
      throw new SafetensorsError(
        file,
        `tensors ${previous!.name} and ${entry.name} overlap (data_offsets [${previous!.dataOffsets.join(', ')}] and [${entry.dataOffsets.join(', ')}])`,
        {
          tensor: entry.name,
        },
      );
    }
    if (begin > covered) {
      throw new SafetensorsError(
        file,
        `${begin - covered} unused bytes before tensor ${entry.name} (data_offsets must be contiguous)`,
        { tensor: entry.name },
      );
    }
    covered = entry.dataOffsets[1];
    previous = entry;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      file,
      `${dataLength - covered} bytes of data after the last tensor${previous ? ` (${previous.name})` : ''} (truncated header or corrupt file)`,
    );
  }
  return { entries, metadata };
}

// ——— decoding ———

/** `bytes` itself when its offset is a multiple of `alignment`, else an aligned copy (not `slice`: on a Buffer it is a view). */
function aligned(bytes: Uint8Array, alignment: number): Uint8Array {
  return bytes.byteOffset % alignment === 0 ? bytes : new Uint8Array(bytes);
}

/**
 * Decodes one tensor's bytes. F32 and I32 data are views on `bytes` when it is aligned (so they share its memory);
 * every other dtype is converted into a new array.
 */
function decodeTensor(entry: SafetensorsEntry, bytes: Uint8Array, file: string): SafetensorsTensor {
  const { dtype, shape } = entry;
  const count = elementCount(shape);
  switch (dtype) {
    case 'F32': {
      const source = aligned(bytes, 4);
      return { dtype, shape, data: new Float32Array(source.buffer, source.byteOffset, count) };
    }
    case 'I32': {
      const source = aligned(bytes, 4);
      return { dtype, shape, data: new Int32Array(source.buffer, source.byteOffset, count) };
    }
    case 'F16': {
      const source = aligned(bytes, 2);
      const halves = new Uint16Array(source.buffer, source.byteOffset, count);
      const table = halfFloatTable();
      const data = new Float32Array(count);
      for (let index = 0; index < count; index++) data[index] = table[halves[index]!]!;
      return { dtype, shape, data };
    }
    case 'BF16': {
      const source = aligned(bytes, 2);
      const halves = new Uint16Array(source.buffer, source.byteOffset, count);
      const data = new Float32Array(count);
      const bits = new Uint32Array(data.buffer);
      for (let index = 0; index < count; index++) bits[index] = halves[index]! << 16;
      return { dtype, shape, data };
    }
    case 'F64': {
      const source = aligned(bytes, 8);
      return { dtype, shape, data: new Float32Array(new Float64Array(source.buffer, source.byteOffset, count)) };
    }
    case 'U32': {
      const source = aligned(bytes, 4);
      const wide = new Uint32Array(source.buffer, source.byteOffset, count);
      const index = wide.findIndex((value) => value > 2147483647);
      if (index >= 0)
        throw new SafetensorsError(
          file,
          `tensor ${entry.name}: U32 value ${wide[index]} at element ${index} does not fit in int32`,
          { tensor: entry.name },
        );
      return { dtype, shape, data: Int32Array.from(wide) };
    }
    case 'U16': {
      const source = aligned(bytes, 2);
      return { dtype, shape, data: Int32Array.from(new Uint16Array(source.buffer, source.byteOffset, count)) };
    }
    case 'U8':
      return { dtype, shape, data: Int32Array.from(bytes.subarray(0, count)) };
    case 'I64': {
      const source = aligned(bytes, 8);
      const wide = new BigInt64Array(source.buffer, source.byteOffset, count);
      const data = new Int32Array(count);
      for (let index = 0; index < count; index++) {
        const value = wide[index]!;
        if (value > 2147483647n || value < -2147483648n) {
          throw new SafetensorsError(
            file,
            `tensor ${entry.name}: I64 value ${value} at element ${index} does not fit in int32`,
            { tensor: entry.name },
          );
        }
        data[index] = Number(value);
      }
      return { dtype, shape, data };
    }
  }
}

/**
 * Parses a whole safetensors file held in memory; `file` names it in errors. F32 and I32 tensors are views on `buffer`
 * where aligned (copies otherwise); the other dtypes are converted.
 */
export function parseSafetensors(
  buffer: Uint8Array,
  file: string,
  options: SafetensorsReadOptions = {},
): SafetensorsFile {
  checkHost(file);
  const headerLength = headerLengthOf(buffer, buffer.length, file);
  const dataStart = 8 + headerLength;
  const { entries, metadata } = decodeHeader(buffer.subarray(8, dataStart), buffer.length - dataStart, file);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of entries) {
    if (options.include && !options.include(entry)) continue;
    const [begin, end] = entry.dataOffsets;
    tensors.set(entry.name, decodeTensor(entry, buffer.subarray(dataStart + begin, dataStart + end), file));
  }
  return { tensors, metadata };
}

function openForReading(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (error) {
    throw new SafetensorsError(
      file,
      `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}

function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const count = readSync(fd, target, done, target.length - done, position + done);
    if (count === 0)
      throw new SafetensorsError(
        file,
        `unexpected end of file at byte ${position + done} (the file changed while being read?)`,
      );
    done += count;
  }
}

function readHeaderFrom(fd: number, file: string): SafetensorsHeader {
  checkHost(file);
  const fileSize = fstatSync(fd).size;
  const prefix = new Uint8Array(8);
  if (fileSize >= 8) readExactly(fd, prefix, 0, file);
  const headerLength = headerLengthOf(prefix, fileSize, file);
  const headerBytes = new Uint8Array(headerLength);
  readExactly(fd, headerBytes, 8, file);
  const dataStart = 8 + headerLength;
  return { ...decodeHeader(headerBytes, fileSize - dataStart, file), dataStart };
}

/** Reads and checks only the header of a safetensors file (names, dtypes, shapes, offsets, metadata). */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForReading(file);
  try {
    return readHeaderFrom(fd, file);
  } finally {
    closeSync(fd);
  }
}

/** Reads a safetensors file: each tensor (those `include` accepts) straight from the file into its own array. */
export function readSafetensors(file: string, options: SafetensorsReadOptions = {}): SafetensorsFile {
  const fd = openForReading(file);
  try {
    const { entries, metadata, dataStart } = readHeaderFrom(fd, file);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const entry of entries) {
      if (options.include && !options.include(entry)) continue;
      const [begin, end] = entry.dataOffsets;
      // A fresh ArrayBuffer per tensor (8-byte aligned): F32 and I32 decode as views on it, without another copy.
      const bytes = new Uint8Array(end - begin);
      readExactly(fd, bytes, dataStart + begin, file);
      tensors.set(entry.name, decodeTensor(entry, bytes, file));
    }
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

// ——— writing ———

interface WritePlan {
  names: string[];
  header: Buffer;
  dataLength: number;
  dtype: 'F32' | 'F16';
}

function planWrite(
  tensors: ReadonlyMap<string, TensorToWrite>,
  options: SafetensorsWriteOptions,
  file: string,
): WritePlan {
  checkHost(file);
  const dtype = options.dtype ?? 'F32';
  if (dtype !== 'F32' && dtype !== 'F16')
    throw new SafetensorsError(file, `cannot write dtype ${String(dtype)} (F32 or F16)`);
  const size = bytesPerElement[dtype];
  const names = [...tensors.keys()].sort();
  const parts: string[] = [];
  if (options.metadata) {
    for (const [key, value] of Object.entries(options.metadata)) {
      if (typeof value !== 'string') throw new SafetensorsError(file, `__metadata__.${key} is not a string`);
    }
    parts.push(`"__metadata__":${JSON.stringify(options.metadata)}`);
  }
  let offset = 0;
  for (const name of names) {
    const tensor = tensors.get(name)!;
    if (name === '__metadata__' || name === '')
      throw new SafetensorsError(file, `${JSON.stringify(name)} cannot be a tensor name`);
    if (!tensor.shape.every(isNonNegativeInteger)) {
      throw new SafetensorsError(
        file,
        `tensor ${name}: shape ${JSON.stringify(tensor.shape)} is not a list of non-negative integers`,
        { tensor: name },
      );
    }
    if (!(tensor.data instanceof Float32Array))
      throw new SafetensorsError(file, `tensor ${name}: data is not a Float32Array`, { tensor: name });
    const count = elementCount(tensor.shape);
    if (count !== tensor.data.length) {
      throw new SafetensorsError(
        file,
        `tensor ${name}: ${tensor.data.length} values for shape ${formatShape(tensor.shape)} (${count})`,
        { tensor: name },
      );
    }
    const end = offset + count * size;
    parts.push(
      `${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: tensor.shape, data_offsets: [offset, end] })}`,
    );
    offset = end;
  }
  let json = `{${parts.join(',')}}`;
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  return { names, header: Buffer.from(json, 'utf8'), dataLength: offset, dtype };
}

/** Elements converted to F16 at a time when writing (bounds the temporary memory). */
const CHUNK_ELEMENTS = 1 << 20;

/** The bytes of each tensor in the stored dtype, in chunks. */
function* tensorChunks(data: Float32Array, dtype: 'F32' | 'F16'): Generator<Uint8Array> {
  if (dtype === 'F32') {
    yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return;
  }
  const halves = new Uint16Array(Math.min(CHUNK_ELEMENTS, data.length));
  for (let start = 0; start < data.length; start += CHUNK_ELEMENTS) {
    const part = data.subarray(start, Math.min(data.length, start + CHUNK_ELEMENTS));
    float32ToHalfBits(part, halves);
    yield new Uint8Array(halves.buffer, 0, part.length * 2);
  }
}

function headerLengthPrefix(plan: WritePlan): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(plan.header.length));
  return prefix;
}

/** The bytes of a safetensors file holding `tensors` (laid out in name order). */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite>,
  options: SafetensorsWriteOptions = {},
): Buffer {
  const plan = planWrite(tensors, options, '(safetensors buffer)');
  const out = Buffer.allocUnsafeSlow(8 + plan.header.length + plan.dataLength); // its own memory, not Node's pool
  headerLengthPrefix(plan).copy(out, 0);
  plan.header.copy(out, 8);
  let at = 8 + plan.header.length;
  for (const name of plan.names) {
    for (const chunk of tensorChunks(tensors.get(name)!.data, plan.dtype)) {
      out.set(chunk, at);
      at += chunk.length;
    }
  }
  return out;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes `tensors` to `file` (through a temporary file renamed into place), one tensor at a time. */
export function writeSafetensors(
  file: string,
  tensors: ReadonlyMap<string, TensorToWrite>,
  options: SafetensorsWriteOptions = {},
): void {
  const plan = planWrite(tensors, options, file);
  const temporary = `${file}.${process.pid}.tmp`;
  let fd: number | null = null;
  try {
    fd = openSync(temporary, 'w');
    writeAll(fd, headerLengthPrefix(plan));
    writeAll(fd, plan.header);
    for (const name of plan.names)
      for (const chunk of tensorChunks(tensors.get(name)!.data, plan.dtype)) writeAll(fd, chunk);
    closeSync(fd);
    fd = null;
    renameSync(temporary, file);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(temporary, { force: true });
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError(
      file,
      `cannot write (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}
