import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLines } from '../../src/records/read-lines.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-lines-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(directory, name);
  writeFileSync(path, content);
  return path;
};
const collect = async (path: string, chunkBytes?: number) => {
  const lines: string[] = [];
  for await (const line of readLines(path, chunkBytes ? { chunkBytes } : {})) lines.push(line);
  return lines;
};

describe('readLines', () => {
  it('splits at LF and CRLF, keeps empty lines, yields a last line without a newline, drops a byte order mark', async () => {
    expect(await collect(file('a.txt', '\uFEFFone\r\ntwo\n\nthree'))).toEqual(['one', 'two', '', 'three']);
    expect(await collect(file('b.txt', 'one\n'))).toEqual(['one']);
    expect(await collect(file('c.txt', ''))).toEqual([]);
  });

  it('decodes multi-byte characters and lines that run across read chunks whatever the chunk size', async () => {
    const lines = ['é—ß€😀'.repeat(7), '', 'x'.repeat(50), '中文 tokens\ttab'];
    const path = file('d.txt', lines.join('\n'));
    for (const chunkBytes of [1, 2, 3, 5, 7, 64]) expect(await collect(path, chunkBytes)).toEqual(lines);
  });

  it('shows every byte to onChunk, in order', async () => {
    const content = Buffer.from('alpha\nbeta\ngamma\n');
    const seen: Buffer[] = [];
    const path = file('e.txt', content);
    for await (const line of readLines(path, { chunkBytes: 4, onChunk: (chunk) => seen.push(Buffer.from(chunk)) }))
      void line;
    expect(Buffer.concat(seen)).toEqual(content);
  });
});
