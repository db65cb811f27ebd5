/**
 * @module bin/launch-target — which entry `autointerp` runs: the JavaScript build in dist/ when it is current (a fast
 * start), else the TypeScript source in src/ through tsx. The build is current when its stamp (written by
 * scripts/build-dist.ts with the time the build started) is not older than any file or folder under src/: an edit, a
 * `git pull` or a deleted file after the build makes it stale, and the source runs instead until `npm install` or
 * `npm run build` builds it again. AUTOINTERP_FROM_SOURCE=1 always runs the source.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The build's stamp, relative to the package root; its modification time is the time the build started. */
export const buildStampFile = 'dist/build-stamp.json';

/**
 * The entry to run for the package at `root`, and why.
 * @param {string} root the package folder (holding src/ and dist/)
 * @param {Record<string, string | undefined>} environment process.env or a stand-in
 * @returns {{ entry: 'dist' | 'source', reason: string }}
 */
export function launchTarget(root, environment) {
  if (environment.AUTOINTERP_FROM_SOURCE) return { entry: 'source', reason: 'AUTOINTERP_FROM_SOURCE is set' };
  let builtAt;
  try {
    builtAt = statSync(join(root, buildStampFile)).mtimeMs;
  } catch {
    return {
      entry: 'source',
      reason: `no build (${buildStampFile} is missing; npm install or npm run build makes one)`,
    };
  }
  const changed = firstEntryNewerThan(join(root, 'src'), builtAt);
  if (changed !== undefined) {
    return {
      entry: 'source',
      reason: `${relative(root, changed)} changed after the build in dist/ (npm run build rebuilds it)`,
    };
  }
  return { entry: 'dist', reason: 'dist/ is built from the current src/' };
}

/** The first file or folder under `folder` (itself included) modified after `time` (ms), or undefined. */
function firstEntryNewerThan(folder, time) {
  if (statSync(folder).mtimeMs > time) return folder;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      const changed = firstEntryNewerThan(path, time);
      if (changed !== undefined) return changed;
    } else if (statSync(path).mtimeMs > time) return path;
  }
  return undefined;
}
