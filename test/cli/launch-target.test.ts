/**
 * bin/launch-target: `autointerp` runs the build in dist/ only when it is built from the current src/ — never a stale
 * build after an edit, a `git pull` or a deleted file — and the source whenever AUTOINTERP_FROM_SOURCE is set. File
 * times are set explicitly (utimes), nothing waits on the clock.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildStampFile, launchTarget } from '../../bin/launch-target.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A package folder whose src/ files and folders were all last modified at `sourceTime` (seconds since 1970). */
function packageFolder(sourceTime: number, options: { built?: number } = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'autointerp-launch-'));
  folders.push(root);
  mkdirSync(join(root, 'src/cli'), { recursive: true });
  for (const file of ['src/index.ts', 'src/cli/bin.ts']) writeFileSync(join(root, file), 'export {};\n');
  for (const path of ['src/index.ts', 'src/cli/bin.ts', 'src/cli', 'src']) setTime(root, path, sourceTime);
  if (options.built !== undefined) {
    mkdirSync(join(root, 'dist/cli'), { recursive: true });
    writeFileSync(join(root, buildStampFile), '{}\n');
    setTime(root, buildStampFile, options.built);
  }
  return root;
}
const setTime = (root: string, path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);

describe('launchTarget: dist/ when built from the current src/, else the source', () => {
  it('runs dist/ when no source file or folder changed after the build started', () => {
    expect(launchTarget(packageFolder(1_000, { built: 2_000 }), {}).entry).toBe('dist');
    expect(launchTarget(packageFolder(2_000, { built: 2_000 }), {}).entry).toBe('dist');
  });

  it('runs the source when there is no build', () => {
    const target = launchTarget(packageFolder(1_000), {});
    expect(target).toEqual({ entry: 'source', reason: expect.stringContaining(buildStampFile) });
  });

  it('runs the source when a nested file changed after the build, and names it', () => {
    const root = packageFolder(1_000, { built: 2_000 });
    setTime(root, 'src/cli/bin.ts', 3_000);
    expect(launchTarget(root, {})).toEqual({
      entry: 'source',
      reason: expect.stringContaining(join('src', 'cli', 'bin.ts')),
    });
  });

  it('runs the source when a file was added or deleted after the build (its folder changed)', () => {
    const root = packageFolder(1_000, { built: 2_000 });
    rmSync(join(root, 'src/cli/bin.ts'));
    expect(launchTarget(root, {}).entry).toBe('source');
  });

  it('runs the source whenever AUTOINTERP_FROM_SOURCE is set, however fresh the build', () => {
    expect(launchTarget(packageFolder(1_000, { built: 2_000 }), { AUTOINTERP_FROM_SOURCE: '1' })).toEqual({
      entry: 'source',
      reason: 'AUTOINTERP_FROM_SOURCE is set',
    });
  });
});

describe('this test suite', () => {
  it('lets a spawned CLI run the build when it is current: vitest.config.ts does not force the source', async () => {
    const { default: config } = await import('../../vitest.config.ts');
    expect(config.test?.env ?? {}).not.toHaveProperty('AUTOINTERP_FROM_SOURCE');
  });
});
