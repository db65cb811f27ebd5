#!/usr/bin/env node
// Launcher of `autointerp`: runs the JavaScript build in dist/ when it is built from the current src/ (a fast start;
// npm install builds it), else registers tsx's loader and runs the TypeScript source in this process, so a checkout
// with a stale or missing build still runs what its src/ says (see launch-target.js).
import { fileURLToPath } from 'node:url';
import { launchTarget } from './launch-target.js';

const target = launchTarget(fileURLToPath(new URL('..', import.meta.url)), process.env);
if (target.entry === 'dist') {
  await import('../dist/cli/bin.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/bin.ts');
}
