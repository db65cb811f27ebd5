import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  describeBackendChoice,
  initBackend,
  type BackendChoice,
} from '../../src/subject/backend.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function installed(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}
const gpuInstalled = installed('@tensorflow/tfjs-node-gpu');

function run(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('describeBackendChoice (issue 15 item 3)', () => {
  const choice: BackendChoice = {
    backend: 'wasm',
    description: 'wasm (SIMD, 1 thread)',
    skipped: [],
    unavailable: [
      {
        name: 'node-gpu',
        packageName: '@tensorflow/tfjs-node-gpu',
        reason: 'not installed',
        detail: "Cannot find package '@tensorflow/tfjs-node-gpu' imported from /tmp/x/backend.ts",
      },
      {
        name: 'node',
        packageName: '@tensorflow/tfjs-node',
        reason: 'failed',
        detail: 'libtensorflow.so.2: cannot open shared object file',
      },
    ],
  };

  it('says in one short line which backend runs and why the faster ones are absent, without paths', () => {
    expect(describeBackendChoice(choice)).toBe(
      'backend: wasm (SIMD, 1 thread); faster ones absent: tfjs-node-gpu not installed (optional); tfjs-node failed to start (--verbose for details)',
    );
    expect(describeBackendChoice({ ...choice, unavailable: [] })).toBe('backend: wasm (SIMD, 1 thread)');
  });

  it("adds each absent backend's error with --verbose", () => {
    expect(describeBackendChoice(choice, true).split('\n')).toEqual([
      'backend: wasm (SIMD, 1 thread); faster ones absent: tfjs-node-gpu not installed (optional); tfjs-node failed to start',
      "  node-gpu: Cannot find package '@tensorflow/tfjs-node-gpu' imported from /tmp/x/backend.ts",
      '  node: libtensorflow.so.2: cannot open shared object file',
    ]);
  });
});

describe.skipIf(gpuInstalled)('--backend node-gpu without @tensorflow/tfjs-node-gpu (issue 13 item 16)', () => {
  const expected =
    /^--backend node-gpu: @tensorflow\/tfjs-node-gpu is not installed; it is an optional dependency: npm install @tensorflow\/tfjs-node-gpu/;

  it('initBackend refuses with a one-line BackendUnavailableError, and another backend still starts after it', async () => {
    const failure = await initBackend('node-gpu').then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BackendUnavailableError);
    expect((failure as Error).message).toMatch(expected);
    expect((failure as Error).message).not.toContain('\n');
    expect((failure as BackendUnavailableError).unavailable).toEqual([
      expect.objectContaining({ name: 'node-gpu', reason: 'not installed' }),
    ]);
    expect((await initBackend('wasm')).backend).toBe('wasm');
  });

  it('the CLI (extract) and the forward bench say so in one line and exit 2, without a stack trace', () => {
    const cli = run([
      join(root, 'bin/autointerp.js'),
      'extract',
      '--backend',
      'node-gpu',
      '--tokens',
      '10',
      '--cache',
      join(root, 'no-such-cache-written'),
    ]);
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^autointerp: --backend node-gpu: @tensorflow\/tfjs-node-gpu is not installed/),
    ]);
    const bench = run(['--import', 'tsx', join(root, 'bench/subject-forward.ts'), '--backend', 'node-gpu']);
    expect(bench.code).toBe(2);
    expect(bench.stderr.trim().split('\n')).toEqual([expect.stringMatching(expected)]);
  });
});
