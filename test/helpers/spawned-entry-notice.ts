/**
 * @module test/helpers/spawned-entry-notice — vitest's global setup: says, before any test runs, which entry the
 * processes that tests spawn will run (bin/launch-target.js): the build in dist/ when it is current, else the sources
 * through tsx, which start about a second slower each (the spawned tests then take minutes longer; `npm run build`
 * before `npm test` makes them fast again). The tests never build dist/ themselves.
 */
import { fileURLToPath } from 'node:url';
import { launchTarget } from '../../bin/launch-target.js';

export function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const target = launchTarget(root, process.env);
  const advice = target.entry === 'dist' ? '' : '; `npm run build` first makes the spawned tests faster';
  process.stdout.write(
    `spawned autointerp processes run ${target.entry === 'dist' ? 'dist/' : 'src/ through tsx'}: ${target.reason}${advice}\n`,
  );
}
