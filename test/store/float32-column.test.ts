import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import {
  decodeFloat32Column,
  encodeFloat32Column,
  encodeFloat32ColumnInto,
  toFloat32Column,
} from '../../src/store/float32-column.ts';
import { migrations } from '../../src/store/migrations.ts';

describe('float32 series columns', () => {
  it('store 4 little-endian bytes a value, NaN for a missing one, and read back the float32 values', () => {
    const blob = encodeFloat32Column([0.1, 2.5, null, -3]);
    expect(blob.byteLength).toBe(16);
    expect(blob.readFloatLE(4)).toBe(2.5);
    expect(Number.isNaN(blob.readFloatLE(8))).toBe(true);
    expect(decodeFloat32Column(blob)).toEqual([Math.fround(0.1), 2.5, null, -3]);
    expect(decodeFloat32Column(encodeFloat32Column([]))).toEqual([]);
  });

  it('write the bytes writeFloatLE writes, for every kind of value (the window digests are taken of them)', () => {
    const values = [0, -0, 0.1, 1 / 3, -2.5e-40, 3.4e38, 3.5e38, -Infinity, Number.MAX_VALUE, 1e-46, null, Number.NaN];
    const expected = Buffer.alloc(values.length * 4);
    values.forEach((value, i) => expected.writeFloatLE(value ?? Number.NaN, i * 4));
    expect(encodeFloat32Column(values).equals(expected)).toBe(true);
    // Into a target at each offset of a 4-byte word (1 and 3: not a float's boundary, written by writeFloatLE).
    for (const offset of [0, 1, 2, 3, 4]) {
      const memory = Buffer.alloc(offset + values.length * 4 + 2, 0xee);
      const target = memory.subarray(offset);
      expect(target.byteOffset % 4).toBe((memory.byteOffset + offset) % 4);
      const written = encodeFloat32ColumnInto(values, target);
      expect(written.equals(expected), `offset ${offset}`).toBe(true);
      expect(written.byteOffset).toBe(target.byteOffset);
      expect([...memory.subarray(0, offset), ...memory.subarray(offset + expected.length)]).toEqual(
        new Array(offset + 2).fill(0xee),
      ); // nothing written outside the series
    }
    expect(() => encodeFloat32ColumnInto([1, 2], Buffer.alloc(7))).toThrow(/2 values needs 8 bytes, the target has 7/);
  });

  it('read a BLOB that does not start on a 4-byte boundary of its buffer', () => {
    const shifted = Buffer.concat([Buffer.from([9]), encodeFloat32Column([1, 2])]).subarray(1);
    expect(decodeFloat32Column(shifted)).toEqual([1, 2]);
  });

  it('still read the JSON text of older databases, and refuse a truncated BLOB', () => {
    expect(decodeFloat32Column('[1.5,null]')).toEqual([1.5, null]);
    expect(toFloat32Column('[1.5,null]')).toEqual(encodeFloat32Column([1.5, null]));
    expect(() => decodeFloat32Column(Buffer.alloc(6))).toThrow(/6 bytes/);
  });

  it('migration 6 converts the JSON series of a schema-5 database in place', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autointerp-f32-')), 'old.db');
    const old = new Database(path);
    for (const migration of migrations.slice(0, 5)) old.exec(migration as string);
    old.pragma('user_version = 5');
    old.exec(`INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
              VALUES (1, 'r', '{}', 'v', '{}', 'e', 's', 1, 'x', '2024', 'finished');
              INSERT INTO features (id, model, layer, kind, idx) VALUES (1, 'm', '0', 'neuron', 0);
              INSERT INTO records (id, run_id, feature_id, split, source, position, tokens, activations) VALUES (1, 1, 1, 'score', 'top', 0, '["a","b"]', '[0,4.25]');
              INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (1, 1, 1, 'x', 'e', 'v', 1, '2024');
              INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected) VALUES (1, 1, 's', 'prompt-logprobs', 'v', '[null,7.5]');`);
    old.close();
    const db = openDatabase(path);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    const row = db
      .prepare(
        'SELECT w.activations, s.expected, typeof(w.activations) AS a, typeof(s.expected) AS e FROM records r JOIN record_windows w ON w.id = r.window_id JOIN simulations s ON s.record_id = r.id',
      )
      .get() as {
      activations: Buffer;
      expected: Buffer;
      a: string;
      e: string;
    };
    expect([row.a, row.e]).toEqual(['blob', 'blob']);
    expect([decodeFloat32Column(row.activations), decodeFloat32Column(row.expected)]).toEqual([
      [0, 4.25],
      [null, 7.5],
    ]);
    db.close();
  });
});
