import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFeatureRecords } from '../../src/records/load.ts';
import { readDelphiLatentCache } from '../../src/sae/delphi-cache.ts';
import { cli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-delphi-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

type Tensor = { dtype: 'U16' | 'U32' | 'F16' | 'I64'; shape: number[]; bytes: Buffer };

/** A safetensors file as delphi's numpy `save_file` writes it (names sorted, header padded to 8 bytes). */
function writeSafetensorsFile(file: string, tensors: Record<string, Tensor>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const { dtype, shape, bytes } = tensors[name]!;
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([prefix, Buffer.from(json), ...names.map((name) => tensors[name]!.bytes)]));
}

const u16 = (values: number[]) => Buffer.from(Uint16Array.from(values).buffer);
const u32 = (values: number[]) => Buffer.from(Uint32Array.from(values).buffer);
const i64 = (values: number[]) => Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer);
/** Half floats of small exact values (multiples of 1/4 up to 8 are exact in F16). */
const f16 = (values: number[]) =>
  Buffer.from(
    Uint16Array.from(values, (value) => {
      const view = new DataView(new ArrayBuffer(4));
      view.setFloat32(0, value);
      const bits = view.getUint32(0);
      const exponent = ((bits >> 23) & 0xff) - 127 + 15;
      return value === 0 ? 0 : ((bits >> 16) & 0x8000) | (exponent << 10) | ((bits >> 13) & 0x3ff);
    }).buffer,
  );

/** 4 sequences × 8 tokens; latents 0–3 in split 0_1 and 2_3 (locations' latent column relative to the split start). */
function writeCache(run: string, options: { tokens?: boolean } = {}): void {
  const folder = join(run, 'layers.3.mlp');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'config.json'),
    JSON.stringify({ cache_ctx_len: 8, batch_size: 4, n_splits: 2, model_name: 'toy-model' }),
  );
  const tokenIds = Array.from({ length: 32 }, (_, index) => 100 + (index % 11));
  const tokens: Record<string, Tensor> =
    options.tokens === false ? {} : { tokens: { dtype: 'I64', shape: [4, 8], bytes: i64(tokenIds) } };
  // Split 0_1: latent 0 fires at (0, 2) = 3 and (2, 5) = 1.5; latent 1 at (1, 7) = 0.25.
  writeSafetensorsFile(join(folder, '0_1.safetensors'), {
    locations: { dtype: 'U16', shape: [3, 3], bytes: u16([0, 2, 0, 2, 5, 0, 1, 7, 1]) },
    activations: { dtype: 'F16', shape: [3], bytes: f16([3, 1.5, 0.25]) },
    ...tokens,
  });
  // Split 2_3 (locations as U32, as delphi writes them when they do not fit in U16): latent 3 (relative 1) fires at
  // (3, 0) = 6 and (0, 4) = 2; latent 2 never fires.
  writeSafetensorsFile(join(folder, '2_3.safetensors'), {
    locations: { dtype: 'U32', shape: [2, 3], bytes: u32([3, 0, 1, 0, 4, 1]) },
    activations: { dtype: 'F16', shape: [2], bytes: f16([6, 2]) },
    ...tokens,
  });
}

describe('readDelphiLatentCache', () => {
  const run = join(directory, 'run');
  writeCache(run);

  it('rebuilds each latent from its sparse locations: top windows, maxima, stats, split offsets, token ids', () => {
    const result = readDelphiLatentCache(run, {
      windowSize: 8,
      topK: 2,
      randomCount: 1,
      quantileBins: 0,
      tokenStrings: (ids) => ids.map((id) => ` t${id}`),
    });
    expect(result).toMatchObject({
      hookpoint: 'layers.3.mlp',
      latents: 4,
      sequences: 4,
      contextLength: 8,
      warnings: [],
    });
    const [zero, one, two, three] = result.records;
    expect(zero!.id).toEqual({ model: 'toy-model', layer: 'layers.3.mlp', kind: 'sae', index: 0, sae: 'layers.3.mlp' });
    expect(zero!.stats.maxActivation).toBe(3);
    expect(zero!.stats.density).toBeCloseTo(2 / 32, 12);
    expect(zero!.stats.mean).toBeCloseTo(4.5 / 32, 6);
    // Top windows are whole sequences (window 8 = context), highest first: sequence 0 (3 at position 2), then 2.
    expect(zero!.top.map((record) => record.activations)).toEqual([
      [0, 0, 3, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 1.5, 0, 0],
    ]);
    expect(zero!.top[0]!.tokenIds).toEqual(Array.from({ length: 8 }, (_, index) => 100 + (index % 11)));
    expect(zero!.top[0]!.tokens[2]).toBe(' t102');
    expect(one!.top[0]!.activations[7]).toBe(0.25);
    expect(two!.top).toEqual([]);
    expect(two!.stats.maxActivation).toBe(0);
    // Latent 3 comes from the second split (relative index 1 + start 2).
    expect(three!.stats.maxActivation).toBe(6);
    expect(three!.top[0]!.activations[0]).toBe(6);
    expect(three!.top[1]!.activations[4]).toBe(2);
  });

  it('names what is wrong: several hookpoints, a missing tensor, no tokens, a latent out of range', () => {
    const two = join(directory, 'two');
    writeCache(two);
    mkdirSync(join(two, 'other'));
    writeFileSync(join(two, 'other', '0_0.safetensors'), '');
    expect(() => readDelphiLatentCache(two)).toThrow(/several hookpoints \(layers\.3\.mlp, other\)/);
    expect(readDelphiLatentCache(two, { hookpoint: 'layers.3.mlp', latents: [3] }).records).toHaveLength(1);

    const noTokens = join(directory, 'no-tokens');
    writeCache(noTokens, { tokens: false });
    expect(() => readDelphiLatentCache(noTokens)).toThrow(/no split holds the cached tokens/);

    expect(() => readDelphiLatentCache(run, { latents: [4] })).toThrow(/latent 4 is not in \[0, 4\)/);
    const broken = join(directory, 'broken', 'hp');
    mkdirSync(broken, { recursive: true });
    writeSafetensorsFile(join(broken, '0_0.safetensors'), {
      activations: { dtype: 'F16', shape: [1], bytes: f16([1]) },
    });
    expect(() => readDelphiLatentCache(join(directory, 'broken'))).toThrow(
      /0_0\.safetensors: missing tensor locations/,
    );
  });

  it('autointerp import-delphi writes records that the records loader accepts', async () => {
    const out = join(directory, 'delphi.jsonl');
    const result = await cli(['import-delphi', run, '--out', out, '--latents', '0,3', '--window', '8']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/no tokenizer given/);
    expect(result.stderr).toMatch(/records: 2 latents of layers\.3\.mlp \(of 4; 4 sequences × 8 tokens\)/);
    const records = await loadFeatureRecords(out);
    expect(records.map((record) => record.id.index)).toEqual([0, 3]);
    expect(records[0]!.top[0]!.tokens[0]).toBe('<100>');
    const bad = await cli(['import-delphi', join(directory, 'nowhere'), '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
