import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { float32ToHalfBits, floatToHalf, halfToFloat } from '../../src/common/float16.ts';
import {
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  serializeSafetensors,
  writeSafetensors,
} from '../../src/common/safetensors.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'autointerp-safetensors-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A safetensors file from a header object and raw data bytes, padded as the reference writer pads. */
function handMade(header: object, data: readonly number[] | Uint8Array, pad = true): Buffer {
  let json = JSON.stringify(header);
  if (pad) json += ' '.repeat((8 - (json.length % 8)) % 8);
  const bytes = Buffer.alloc(8 + json.length + data.length);
  bytes.writeBigUInt64LE(BigInt(json.length));
  bytes.write(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

function thrown(action: () => unknown): SafetensorsError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error('expected an error');
}

describe('half floats', () => {
  it('encodes hand-computed halves, rounding to nearest even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff); // largest half
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // halfway to 65536: ties to even, i.e. overflow to Inf
    expect(floatToHalf(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(floatToHalf(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(floatToHalf(Number.NaN)).toBe(0x7e00);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(0.1)).toBe(0x2e66);
    // 6.1e-5 is just under the smallest normal 2^-14 ≈ 6.1035e-5: subnormal, 6.1e-5 / 2^-24 = 1023.4 → 1023.
    expect(floatToHalf(6.1e-5)).toBe(0x03ff);
    expect(floatToHalf(2 ** -14)).toBe(0x0400);
    expect(floatToHalf(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(floatToHalf(2 ** -25)).toBe(0x0000); // exactly half of it: ties to even (0)
    expect(floatToHalf(1.5 * 2 ** -24)).toBe(0x0002); // halfway between 1 and 2 units: even is 2
    expect(floatToHalf(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(floatToHalf(1e-8)).toBe(0x0000); // under 2^-25
    expect(floatToHalf(-1e-8)).toBe(0x8000);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1 + 2^-10: even mantissa
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(2047.5 * 2 ** -10)).toBe(0x4000); // rounds up into the next exponent
    // Rounded once from the exact value: through float32 this would be a tie (1 + 2^-11) and go down to 0x3c00.
    expect(floatToHalf(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
  });

  it('decodes every half exactly, and encoding inverts decoding', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x03ff)).toBe(1023 * 2 ** -24);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Object.is(halfToFloat(0x8000), -0)).toBe(true);
    const mismatches: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const exponent = (bits >> 10) & 0x1f;
      if (exponent === 31 && bits & 0x3ff) continue; // NaNs encode as the canonical 0x7e00
      if (floatToHalf(halfToFloat(bits)) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('bulk-encodes float32 arrays exactly as the scalar conversion does', () => {
    const random = mulberry32(5);
    const bits = new Uint32Array(200_000);
    for (let index = 0; index < bits.length; index++) bits[index] = Math.floor(random() * 2 ** 32);
    // Plus every exponent near the half range with random mantissas, and the ties.
    for (let index = 0; index < 20_000; index++) {
      const exponent = 97 + (index % 50);
      const mantissa = index % 3 === 0 ? 0x1000 | ((index * 0x2000) & 0x7fe000) : Math.floor(random() * 2 ** 23);
      bits[index] = ((index & 1) << 31) | (exponent << 23) | mantissa;
    }
    const values = new Float32Array(bits.buffer);
    const bulk = float32ToHalfBits(values);
    for (let index = 0; index < values.length; index++) {
      const value = values[index]!;
      if (Number.isNaN(value)) expect(bulk[index]! & 0x7fff).toBe(0x7e00);
      else if (bulk[index] !== floatToHalf(value))
        expect.fail(`float32 bits 0x${bits[index]!.toString(16)}: ${bulk[index]} vs ${floatToHalf(value)}`);
    }
  });
});

describe('writing safetensors', () => {
  it('writes the reference layout byte for byte: sorted names, __metadata__ first, header padded with spaces to 8', () => {
    const bytes = serializeSafetensors(
      new Map([
        ['b', { shape: [2], data: Float32Array.of(2, 3) }],
        ['a', { shape: [1], data: Float32Array.of(1) }],
      ]),
      { metadata: { format: 'pt' } },
    );
    const json =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    expect(padded.length % 8).toBe(0);
    expect(padded.length).toBeGreaterThan(json.length); // the case exercises the padding
    const expected = Buffer.alloc(8 + padded.length + 12);
    expected.writeBigUInt64LE(BigInt(padded.length));
    expected.write(padded, 8);
    Buffer.from(Float32Array.of(1, 2, 3).buffer).copy(expected, 8 + padded.length);
    expect(bytes.equals(expected)).toBe(true);
  });

  it('round-trips F32 exactly through a file, with metadata', () => {
    const random = mulberry32(1);
    const big = Float32Array.from({ length: 3 * 5 * 7 }, () => random() * 200 - 100);
    const special = Float32Array.of(
      0,
      -0,
      1e-45,
      3.4028234663852886e38,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    );
    const file = join(dir, 'f32.safetensors');
    writeSafetensors(
      file,
      new Map([
        ['big', { shape: [3, 5, 7], data: big }],
        ['special', { shape: [7], data: special }],
        ['scalar', { shape: [], data: Float32Array.of(4.5) }],
        ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      ]),
      {
        metadata: { format: 'pt', note: 'round trip' },
      },
    );
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const read = readSafetensors(file);
    expect(read.metadata).toEqual({ format: 'pt', note: 'round trip' });
    expect([...read.tensors.keys()]).toEqual(['big', 'empty', 'scalar', 'special']);
    const tensor = read.tensors.get('big')!;
    expect(tensor.dtype).toBe('F32');
    expect(tensor.shape).toEqual([3, 5, 7]);
    expect(tensor.data).toEqual(big);
    expect(Array.from(read.tensors.get('special')!.data)).toEqual(Array.from(special));
    expect(Object.is(read.tensors.get('special')!.data[1], -0)).toBe(true);
    expect(read.tensors.get('scalar')).toEqual({ dtype: 'F32', shape: [], data: Float32Array.of(4.5) });
    expect(read.tensors.get('empty')!.data.length).toBe(0);
    // The same bytes as the in-memory serializer.
    expect(
      readFileSync(file).equals(
        serializeSafetensors(
          new Map([
            ['big', { shape: [3, 5, 7], data: big }],
            ['special', { shape: [7], data: special }],
            ['scalar', { shape: [], data: Float32Array.of(4.5) }],
            ['empty', { shape: [0, 3], data: new Float32Array(0) }],
          ]),
          { metadata: { format: 'pt', note: 'round trip' } },
        ),
      ),
    ).toBe(true);
  });

  it('writes F16 as hand-computed halves and reads them back', () => {
    const values = Float32Array.of(
      1,
      -2,
      65504,
      6.1e-5,
      1e-8,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      70000,
    );
    const halves = [0x3c00, 0xc000, 0x7bff, 0x03ff, 0x0000, 0x7e00, 0x7c00, 0xfc00, 0x8000, 0x7c00];
    const file = join(dir, 'f16.safetensors');
    writeSafetensors(file, new Map([['w', { shape: [2, 5], data: values }]]), { dtype: 'F16' });
    const bytes = readFileSync(file);
    const header = readSafetensorsHeader(file);
    expect(header.entries).toEqual([{ name: 'w', dtype: 'F16', shape: [2, 5], dataOffsets: [0, 20] }]);
    expect(header.dataStart % 8).toBe(0);
    const stored = Array.from({ length: 10 }, (_, index) => bytes.readUInt16LE(header.dataStart + 2 * index));
    expect(stored).toEqual(halves);
    const read = readSafetensors(file).tensors.get('w')!;
    expect(read.dtype).toBe('F16');
    expect(read.shape).toEqual([2, 5]);
    expect(Array.from(read.data)).toEqual([
      1,
      -2,
      65504,
      1023 * 2 ** -24,
      0,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      Number.POSITIVE_INFINITY,
    ]);
    expect(Math.abs(read.data[3]! - 6.1e-5)).toBeLessThan(2 ** -25);
    // A tensor larger than one conversion chunk.
    const random = mulberry32(2);
    const large = Float32Array.from({ length: (1 << 20) + 3 }, () => random() * 4 - 2);
    const round = parseSafetensors(
      serializeSafetensors(new Map([['large', { shape: [large.length], data: large }]]), { dtype: 'F16' }),
      'large',
    ).tensors.get('large')!;
    for (const index of [0, 1, 1 << 20, (1 << 20) + 2])
      expect(round.data[index]).toBe(halfToFloat(floatToHalf(large[index]!)));
  });

  it('refuses tensors whose data does not match the shape, naming them', () => {
    const error = thrown(() =>
      writeSafetensors(join(dir, 'bad.safetensors'), new Map([['w', { shape: [2, 3], data: new Float32Array(5) }]])),
    );
    expect(error.message).toMatch(/bad\.safetensors: tensor w: 5 values for shape \[2, 3\] \(6\)/);
    expect(error.tensor).toBe('w');
    expect(() => serializeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]]))).toThrow(
      /"__metadata__" cannot be a tensor name/,
    );
  });
});

describe('reading safetensors', () => {
  it('reads BF16, F64, I32 and I64 from hand-made bytes', () => {
    const data = Buffer.alloc(8 + 16 + 8 + 16);
    // BF16 (little-endian): 0x3f80 = 1, 0xc040 = -3, 0x3e20 = 0.15625, 0x7f80 = +Inf.
    [0x3f80, 0xc040, 0x3e20, 0x7f80].forEach((bits, index) => data.writeUInt16LE(bits, index * 2));
    data.writeDoubleLE(0.1, 8);
    data.writeDoubleLE(-1e300, 16);
    data.writeInt32LE(-7, 24);
    data.writeInt32LE(2147483647, 28);
    data.writeBigInt64LE(-2147483648n, 32);
    data.writeBigInt64LE(123n, 40);
    const file = handMade(
      {
        bf: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] },
        f64: { dtype: 'F64', shape: [2], data_offsets: [8, 24] },
        i32: { dtype: 'I32', shape: [2], data_offsets: [24, 32] },
        i64: { dtype: 'I64', shape: [2, 1], data_offsets: [32, 48] },
      },
      data,
    );
    const { tensors, metadata } = parseSafetensors(file, 'hand.safetensors');
    expect(metadata).toEqual({});
    expect(tensors.get('bf')).toEqual({
      dtype: 'BF16',
      shape: [2, 2],
      data: Float32Array.of(1, -3, 0.15625, Number.POSITIVE_INFINITY),
    });
    expect(tensors.get('f64')).toEqual({
      dtype: 'F64',
      shape: [2],
      data: Float32Array.of(Math.fround(0.1), Number.NEGATIVE_INFINITY),
    });
    expect(tensors.get('i32')).toEqual({ dtype: 'I32', shape: [2], data: Int32Array.of(-7, 2147483647) });
    expect(tensors.get('i64')).toEqual({ dtype: 'I64', shape: [2, 1], data: Int32Array.of(-2147483648, 123) });
    // Through a file as well, and with `include` picking tensors.
    writeFileSync(join(dir, 'hand.safetensors'), file);
    const some = readSafetensors(join(dir, 'hand.safetensors'), {
      include: (entry) => entry.dtype === 'I64' || entry.name === 'bf',
    });
    expect([...some.tensors.keys()]).toEqual(['bf', 'i64']);
    expect(some.tensors.get('i64')!.data).toEqual(Int32Array.of(-2147483648, 123));
  });

  it('reads U16 and U8 (as delphi stores latent locations) as int32', () => {
    const data = Buffer.alloc(8);
    data.writeUInt16LE(65535, 0);
    data.writeUInt16LE(7, 2);
    data.set([0, 200, 255, 1], 4);
    const { tensors } = parseSafetensors(
      handMade(
        {
          u16: { dtype: 'U16', shape: [2], data_offsets: [0, 4] },
          u8: { dtype: 'U8', shape: [2, 2], data_offsets: [4, 8] },
        },
        data,
      ),
      'u.safetensors',
    );
    expect(tensors.get('u16')).toEqual({ dtype: 'U16', shape: [2], data: Int32Array.of(65535, 7) });
    expect(tensors.get('u8')).toEqual({ dtype: 'U8', shape: [2, 2], data: Int32Array.of(0, 200, 255, 1) });
  });

  it('refuses an I64 value outside int32, naming the tensor', () => {
    const data = Buffer.alloc(16);
    data.writeBigInt64LE(2n ** 31n, 8);
    expect(() =>
      parseSafetensors(handMade({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data), 'ids.safetensors'),
    ).toThrow(/ids\.safetensors: tensor ids: I64 value 2147483648 at element 1 does not fit in int32/);
  });

  it('gives F32 views on an aligned buffer and copies from a misaligned one', () => {
    const aligned = serializeSafetensors(new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]));
    const view = parseSafetensors(aligned, 'a').tensors.get('w')!.data;
    expect(view.buffer).toBe(aligned.buffer);
    expect(view).toEqual(Float32Array.of(1, 2));
    // An odd-length F16 tensor first puts the F32 tensor at an offset of 2 bytes.
    const data = Buffer.alloc(6);
    data.writeUInt16LE(0x3c00, 0);
    data.writeFloatLE(2.5, 2);
    const misaligned = handMade(
      { h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] }, w: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } },
      data,
    );
    const read = parseSafetensors(misaligned, 'm');
    expect(read.tensors.get('w')!.data).toEqual(Float32Array.of(2.5));
    expect(read.tensors.get('h')!.data).toEqual(Float32Array.of(1));
  });

  it('rejects corrupt headers, out-of-range offsets, overlaps, gaps and wrong sizes, naming the file and the tensor', () => {
    const zeros = (count: number) => new Array<number>(count).fill(0);
    const cases: [Buffer, RegExp, string?][] = [
      [
        handMade({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, zeros(8)),
        /^f\.safetensors: tensor w: data_offsets \[0, 12\] run past the end of the data \(8 bytes\)$/,
        'w',
      ],
      [
        handMade(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          zeros(8),
        ),
        /^f\.safetensors: tensors a and b overlap \(data_offsets \[0, 8\] and \[4, 8\]\)$/,
        'b',
      ],
      [
        handMade(
          {
            a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
          },
          zeros(12),
        ),
        /4 unused bytes before tensor b \(data_offsets must be contiguous\)/,
        'b',
      ],
      [
        handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, zeros(8)),
        /4 bytes of data after the last tensor \(a\)/,
      ],
      [
        handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, zeros(8)),
        /tensor w: 8 bytes of data for shape \[3\] F32, expected 12/,
        'w',
      ],
      [
        handMade({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, zeros(8)),
        /tensor w: data_offsets \[8, 0\] end before they begin/,
        'w',
      ],
      [
        handMade({ w: { dtype: 'I8', shape: [1], data_offsets: [0, 1] } }, zeros(1)),
        /tensor w: dtype "I8" is not supported \(supported: F32, F16, BF16, F64, I32, I64, U32, U16, U8\)/,
        'w',
      ],
      [
        handMade({ w: { dtype: 'float', shape: [1], data_offsets: [0, 4] } }, zeros(4)),
        /tensor w: unknown dtype "float" is not supported/,
        'w',
      ],
      [
        handMade({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, zeros(4)),
        /tensor w: shape \[-1\] is not a list of non-negative integers/,
        'w',
      ],
      [
        handMade({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, zeros(4)),
        /tensor w: data_offsets \[0\] is not \[begin, end\]/,
        'w',
      ],
      [handMade({ w: 'F32' }, zeros(4)), /tensor w: header entry is not an object/, 'w'],
      [handMade({ __metadata__: { format: 1 } }, []), /__metadata__\.format is not a string/],
      [handMade([1, 2], []), /header does not start with "\{"/],
      [Buffer.concat([handMade({}, []).subarray(0, 8), Buffer.from('{"w": 1 ')]), /header is not valid JSON/],
    ];
    for (const [bytes, message, tensor] of cases) {
      const error = thrown(() => parseSafetensors(bytes, 'f.safetensors'));
      expect(error.message).toMatch(/^f\.safetensors: /);
      expect(error.message).toMatch(message);
      expect(error.tensor).toBe(tensor);
    }
    // The header length itself.
    const tooLong = Buffer.alloc(16);
    tooLong.writeBigUInt64LE(1000n);
    expect(() => parseSafetensors(tooLong, 'f')).toThrow(/^f: header length 1000 does not fit in the file \(16 bytes/);
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(2n ** 63n);
    expect(() => parseSafetensors(huge, 'f')).toThrow(
      /header length 9223372036854775808 is over the 100000000-byte limit/,
    );
    expect(() => parseSafetensors(Buffer.alloc(5), 'f')).toThrow(/^f: too short \(5 bytes\)/);
    // An empty file and a missing one, through the file reader.
    writeFileSync(join(dir, 'empty.safetensors'), '');
    expect(() => readSafetensors(join(dir, 'empty.safetensors'))).toThrow(/empty\.safetensors: too short \(0 bytes\)/);
    expect(() => readSafetensors(join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: cannot read \(ENOENT\)/);
    // A truncated file: the header promises more data than there is.
    const whole = serializeSafetensors(new Map([['w', { shape: [4], data: new Float32Array(4) }]]));
    writeFileSync(join(dir, 'truncated.safetensors'), whole.subarray(0, whole.length - 3));
    expect(() => readSafetensors(join(dir, 'truncated.safetensors'))).toThrow(
      /truncated\.safetensors: tensor w: data_offsets \[0, 16\] run past the end of the data \(13 bytes\)/,
    );
  });

  it('accepts an empty file set and a null __metadata__', () => {
    expect(parseSafetensors(handMade({}, []), 'e')).toEqual({ tensors: new Map(), metadata: {} });
    expect(parseSafetensors(handMade({ __metadata__: null }, []), 'e').metadata).toEqual({});
    expect(parseSafetensors(serializeSafetensors(new Map()), 'e').tensors.size).toBe(0);
  });
});
