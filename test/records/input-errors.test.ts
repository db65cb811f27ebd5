import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFeatureRecords } from '../../src/records/load.ts';
import { RecordFormatError } from '../../src/records/errors.ts';
import { readLines } from '../../src/records/read-lines.ts';
import { decodeUtf8, InvalidUtf8Error, pathOfReplacementCharacter } from '../../src/records/utf8.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-input-errors-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
};
const failure = (path: string) =>
  loadFeatureRecords(path).then(
    () => {
      throw new Error(`${path} loaded`);
    },
    (error: unknown) => error,
  );

const line = (index: number, token: string) =>
  `{"id": {"model": "m", "layer": 0, "kind": "neuron", "index": ${index}}, "top": [{"tokens": ["a", "${token}"], "activations": [1, 0]}], "random": [], "stats": {"mean": 0, "variance": 0, "skewness": null, "kurtosis": null, "maxActivation": 1, "density": 0.1}}`;
/** A token written by a Latin-1 writer: 0xe9 followed by '"' is no UTF-8 sequence. */
const latin1Token = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1

describe('invalid UTF-8 in records', () => {
  it('is an input error naming the file, the line and the field in JSONL, never a stored U+FFFD', async () => {
    const [before, after] = line(1, 'PLACEHOLDER').split('PLACEHOLDER');
    const second = Buffer.concat([Buffer.from(before!), latin1Token, Buffer.from(after!)]); // ["a", "caf<0xe9>"]
    const path = file('latin1.jsonl', Buffer.concat([Buffer.from(`${line(0, 'fine')}\n`), second, Buffer.from('\n')]));
    const error = await failure(path);
    expect(error).toBeInstanceOf(RecordFormatError);
    const offset = second.indexOf(0xe9);
    expect((error as Error).message).toBe(
      `${path} (line 2, top[0].tokens[1]): not valid UTF-8 (byte ${offset} of the line); records must be UTF-8 text`,
    );
  });

  it('names the line when the bad bytes are outside any string, and reads an encoded U+FFFD as the character it is', async () => {
    const outside = file(
      'outside.jsonl',
      Buffer.concat([Buffer.from(`${line(0, 'a')}\n\n`), Buffer.from([0xff]), Buffer.from(`${line(1, 'b')}\n`)]),
    );
    expect(((await failure(outside)) as Error).message).toBe(
      `${outside} (line 3): not valid UTF-8 (byte 0 of the line); records must be UTF-8 text`,
    );
    const records = await loadFeatureRecords(file('replacement.jsonl', `${line(0, '\ufffd')}\n`));
    expect(records[0]!.top[0]!.tokens[1]).toBe('\ufffd');
  });

  it('is an input error naming line and field in a NeuronRecord JSON file', async () => {
    const text = Buffer.from(
      `{"neuron_id": {"layer_index": 0, "neuron_index": 1},\n "most_positive_activation_records": [{"tokens": [" the", "PLACEHOLDER"], "activations": [1.0, 0.5]}]}`,
    );
    const [before, after] = text.toString().split('PLACEHOLDER');
    const path = file('neuron.json', Buffer.concat([Buffer.from(before!), Buffer.from([0xc3]), Buffer.from(after!)]));
    const message = ((await failure(path)) as Error).message;
    expect(message).toBe(
      `${path} (line 2, most_positive_activation_records[0].tokens[1]): not valid UTF-8 (byte ${Buffer.byteLength(before!)} of the file); records must be UTF-8 text`,
    );
  });

  it('readLines throws InvalidUtf8Error with the line and the offset, whatever the chunk size', async () => {
    const path = file(
      'lines.txt',
      Buffer.concat([Buffer.from('ok\nstill ok é\nbad '), Buffer.from([0xe2, 0x82]), Buffer.from(' end\n')]),
    );
    for (const chunkBytes of [1, 3, 1024]) {
      const lines: string[] = [];
      const error = await (async () => {
        for await (const text of readLines(path, { chunkBytes })) lines.push(text);
      })().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidUtf8Error);
      expect(error).toMatchObject({ lineNumber: 3, byteOffset: 4 });
      expect(lines).toEqual(['ok', 'still ok é']);
    }
    expect(decodeUtf8(Buffer.from('ünïcode ✓'))).toBe('ünïcode ✓');
    expect(pathOfReplacementCharacter({ a: [1, { b: 'x\ufffd' }] })).toBe('a[1].b');
    expect(pathOfReplacementCharacter({ a: 'fine' })).toBeNull();
  });
});

describe('a records path that is not a regular file or folder', () => {
  it('is refused with an error naming it (a FIFO would block a reader for ever)', async () => {
    const fifo = join(directory, 'records.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const path of [fifo, '/dev/null']) {
      const error = await failure(path);
      expect(error).toBeInstanceOf(RecordFormatError);
      expect((error as Error).message).toMatch(
        new RegExp(`^${path.replace(/[.]/g, '\\.')}: not a regular file or directory`),
      );
    }
  });
});
