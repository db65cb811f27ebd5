import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/subject/backend.ts';
import { formatCorpusSampleLine, readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { extractActivations, ExtractionSetupError } from '../../src/subject/extract-activations.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';
import { ForwardPool, rowShares, workerBackend } from '../../src/subject/parallel-forward.ts';
import { autointerpBinary, cli } from '../helpers/run-cli.ts';
import { tinyGpt2Config, writeTinyGpt2Folder } from '../helpers/tiny-gpt2.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-parallel-forward-'));
const modelDir = join(temporary, 'tiny-gpt2');
const corpusFile = join(temporary, 'corpus.jsonl');
const hook = 'blocks.0.mlp.hook_post';
const config = tinyGpt2Config({ nLayer: 2 });
let subject: SubjectModel;
let pool: ForwardPool;
let folders = 0;
const freshFolder = () => join(temporary, `cache-${folders++}`);

function filesOf(directory: string): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(directory)
      .sort()
      .map((name) => [name, readFileSync(join(directory, name))]),
  );
}

/** The hook's activation of a batch on this thread. */
function hookHere(ids: Int32Array, rows: number, hookName = hook): Float32Array {
  const captured = tf.tidy(() => {
    let value: tf.Tensor | undefined;
    subject.model.forward(ids, rows, { hooks: { [hookName]: (a) => void (value = a) }, stopAt: hookName });
    return value!;
  });
  const data = captured.dataSync() as Float32Array;
  captured.dispose();
  return data;
}

const rows = 5;
const length = 16;
const ids = Int32Array.from({ length: rows * length }, (_, index) => (index * 7919) % config.vocabSize);

beforeAll(async () => {
  await initBackend('wasm');
  writeTinyGpt2Folder(modelDir, config, 11);
  const documents = readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl')).slice(0, 3);
  const lines = documents.map((document) => {
    const words = document.words.filter((word) => word.end <= 900);
    return formatCorpusSampleLine({ ...document, text: document.text.slice(0, words.at(-1)!.end), words });
  });
  writeFileSync(corpusFile, `${lines.join('\n')}\n`);
  subject = await loadSubjectModel(modelDir);
  pool = await ForwardPool.start({
    config,
    weights: await subject.model.toWeights(),
    workers: 2,
    backend: tf.getBackend(),
  });
});
afterAll(async () => {
  await pool?.close();
  subject?.model.dispose();
  rmSync(temporary, { recursive: true, force: true });
});

describe('ForwardPool: data-parallel forward passes on worker threads (issue 19 item 4)', () => {
  it('a whole batch on a worker gives the bytes of this thread; rows split across 2 workers agree to float tolerance', async () => {
    expect(pool.backends).toEqual(['wasm (SIMD, 1 thread)', 'wasm (SIMD, 1 thread)']);
    const here = hookHere(ids, rows);
    const whole = await pool.hookActivations(ids.slice(), rows, hook);
    expect(Array.from(whole)).toEqual(Array.from(here));
    const split = await pool.splitHookActivations(ids.slice(), rows, hook);
    expect(split).toHaveLength(here.length);
    for (let at = 0; at < here.length; at++)
      expect(Math.abs(split[at]! - here[at]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(here[at]!)));
    const sumHere = tf.tidy(() => tf.sum(subject.model.forward(ids, rows).logits!).dataSync()[0]!);
    expect(await pool.splitLogitSum(ids.slice(), rows)).toBeCloseTo(sumHere, 2);
  });

  it('a request that fails in a worker rejects with its reason, and the workers go on', async () => {
    await expect(pool.hookActivations(ids.slice(), rows, 'blocks.9.hook_resid_post')).rejects.toThrow(
      /forward worker [12] of 2: unknown hook point "blocks\.9\.hook_resid_post"/,
    );
    expect(Array.from(await pool.hookActivations(ids.slice(), rows, hook))).toEqual(Array.from(hookHere(ids, rows)));
  });

  it('splits rows into contiguous shares and refuses tfjs-node, which uses every core already', () => {
    expect(rowShares(5, 2)).toEqual([
      { first: 0, count: 3 },
      { first: 3, count: 2 },
    ]);
    expect(rowShares(1, 3)).toEqual([{ first: 0, count: 1 }]);
    expect(workerBackend('wasm')).toBe('wasm');
    expect(() => workerBackend('tensorflow')).toThrow(/--workers: .* not "tensorflow"/);
  });
});

describe('extractActivations with --workers (issue 19 item 4)', () => {
  it('`extract --workers 2` writes the bytes of 1 worker and its process exits by itself (no worker left running); a 2-worker run that crashed resumes to the same bytes', async () => {
    const common = { modelDir: subject, hook, corpus: corpusFile, batchSize: 3, maxTokens: 500 };
    const straight = freshFolder();
    await extractActivations({ ...common, cacheDir: straight });
    const parallel = freshFolder();
    const flags = ['--model', modelDir, '--hook', hook, '--corpus', corpusFile, '--tokens', '500'];
    // A real process: the CLI never calls process.exit, so it ends only if closing the pool left no worker running.
    const run = spawnSync(
      process.execPath,
      [autointerpBinary, 'extract', ...flags, '--batch-sequences', '3', '--cache', parallel, '--workers', '2'],
      { cwd: root, encoding: 'utf8', timeout: 300_000 }, // a hang guard only
    );
    expect(run.signal, run.stderr).toBeNull();
    expect(run.stderr).toMatch(/cache .*: \d+ tokens in \d+ sequences/);
    expect(run.status, run.stderr).toBe(0);
    expect(filesOf(parallel)).toEqual(filesOf(straight));
    const refused = await cli(['extract', ...flags, '--cache', freshFolder(), '--workers', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--workers/);

    const crashed = freshFolder();
    let batches = 0;
    await expect(
      extractActivations({
        ...common,
        cacheDir: crashed,
        workers: 2,
        onProgress: () => {
          if (++batches === 3) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    // Resumed on the file's pool (2 workers already started; a pool started and closed by the extraction itself is
    // seen in the crashed run and the process above)
    await extractActivations({ ...common, cacheDir: crashed, pool, resume: true });
    expect(filesOf(crashed)).toEqual(filesOf(straight));
    // and the pool goes on after serving an extraction
    expect(Array.from(await pool.hookActivations(ids.slice(), rows, hook))).toEqual(Array.from(hookHere(ids, rows)));

    await expect(extractActivations({ ...common, cacheDir: freshFolder(), workers: 0 })).rejects.toThrow(
      ExtractionSetupError,
    );
  });
});
