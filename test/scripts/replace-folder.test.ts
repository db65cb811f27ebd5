import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceFolder } from '../../scripts/replace-folder.ts';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function scratch(): string {
  const folder = mkdtempSync(join(tmpdir(), 'autointerp-replace-folder-'));
  folders.push(folder);
  return folder;
}

function folderWith(path: string, files: Record<string, string>): void {
  mkdirSync(path, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
}

describe('replaceFolder (the swap of a new build into dist/)', () => {
  it('puts the new folder in place of the old, whose files are gone, and leaves nothing beside it', () => {
    const root = scratch();
    folderWith(join(root, 'dist'), { 'old.js': 'old', 'both.js': 'old' });
    folderWith(join(root, 'next'), { 'new.js': 'new', 'both.js': 'new' });
    replaceFolder(join(root, 'next'), join(root, 'dist'), join(root, 'aside'));
    expect(readdirSync(join(root, 'dist')).sort()).toEqual(['both.js', 'new.js']);
    expect(readFileSync(join(root, 'dist', 'both.js'), 'utf8')).toBe('new');
    expect(readdirSync(root)).toEqual(['dist']);
  });

  it('works when there is no old folder, and clears a leftover of an interrupted swap', () => {
    const root = scratch();
    folderWith(join(root, 'next'), { 'new.js': 'new' });
    folderWith(join(root, 'aside'), { 'stale.js': 'from a killed build' });
    replaceFolder(join(root, 'next'), join(root, 'dist'), join(root, 'aside'));
    expect(readdirSync(join(root, 'dist'))).toEqual(['new.js']);
    expect(existsSync(join(root, 'aside'))).toBe(false);
    expect(existsSync(join(root, 'next'))).toBe(false);
  });

  it('fails loudly, the old folder untouched, when the new one is missing', () => {
    const root = scratch();
    folderWith(join(root, 'dist'), { 'old.js': 'old' });
    expect(() => replaceFolder(join(root, 'missing'), join(root, 'dist'), join(root, 'aside'))).toThrow(
      /missing does not exist; .*dist left as it is/,
    );
    expect(readFileSync(join(root, 'dist', 'old.js'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['dist']);
  });
});
