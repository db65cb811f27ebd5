import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBrownFile } from '../../scripts/brown-corpus.ts';

const temporary = mkdtempSync(join(tmpdir(), 'autointerp-brown-corpus-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

describe('readBrownFile: tags shared by their tokens', () => {
  it('shares one parsed tag between tokens with the same tag, frozen with its parts', () => {
    const path = join(temporary, 'test01');
    writeFileSync(path, '\n\tThe/at dog/nn ran/vbd ./.\n\n\tA/at cat/nn+bez sat/vbd ./.\n');
    const [first, second] = readBrownFile(path);
    const firstArticle = first![0]!.tag;
    expect(second![0]!.tag).toBe(firstArticle); // parsed once, shared
    expect(firstArticle.parts).toEqual(['at']);
    expect(Object.isFrozen(firstArticle)).toBe(true);
    expect(Object.isFrozen(firstArticle.parts)).toBe(true);
    // A caller that tries to change the shared parts changes no other token's tag.
    expect(() => (firstArticle.parts as string[]).push('nn')).toThrow(TypeError);
    expect(second![0]!.tag.parts).toEqual(['at']);
    expect(second![1]!.tag.parts).toEqual(['nn', 'bez']);
  });
});
