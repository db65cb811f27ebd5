import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCorpusSampleLine, readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { cli as runCli } from '../helpers/run-cli.ts';
import { tinyGpt2Config, writeTinyGpt2Folder } from '../helpers/tiny-gpt2.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-extract-cli-'));
const modelDir = join(directory, 'tiny');
const corpus = join(directory, 'corpus.jsonl');
const config = tinyGpt2Config();

/** `autointerp <args>` in-process, in the test folder. */
const cli = (args: string[]) => runCli(args, { cwd: directory });

beforeAll(() => {
  writeTinyGpt2Folder(modelDir, config, 3);
  const documents = readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl')).slice(0, 2);
  const lines = documents.map((document) => {
    const words = document.words.filter((word) => word.end <= 1500);
    return formatCorpusSampleLine({ ...document, text: document.text.slice(0, words.at(-1)!.end), words });
  });
  writeFileSync(corpus, `${lines.join('\n')}\n`);
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('autointerp extract', () => {
  it('extracts into a cache, writes records that `autointerp run` accepts, and POS labels beside them', async () => {
    const args = [
      'extract',
      '--model',
      modelDir,
      '--corpus',
      corpus,
      '--tokens',
      '500',
      '--cache',
      'cache',
      '--records-out',
      'records.jsonl',
      '--features',
      '0-5',
      '--backend',
      'wasm',
    ];
    const result = await cli(args);
    expect(result.stderr).toMatch(/^backend: wasm/m);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /cache cache: \d+ tokens in \d+ sequences of tiny at blocks\.0\.mlp\.hook_post \(width 24\)/,
    );
    const lines = readFileSync(join(directory, 'records.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(JSON.parse(lines[0]!).id).toEqual({
      model: 'tiny',
      layer: 'blocks.0.mlp.hook_post',
      kind: 'neuron',
      index: 0,
    });
    const labels = JSON.parse(readFileSync(join(directory, 'records.labels.json'), 'utf8'));
    expect(labels).toMatchObject({ threshold: 0.5, source: { model: 'tiny', hook: 'blocks.0.mlp.hook_post' } });

    // An existing cache is not overwritten (--resume continues it).
    const again = await cli(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds a cache .*--resume/);

    const run = await cli(['run', '--records', 'records.jsonl', '--db', 'run.db', '--limit', '2', '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/blocks\.0\.mlp\.hook_post/);
  });

  it('reports a missing model folder and an unknown hook in one line, exit code 2', async () => {
    const missing = await cli(['extract', '--model', 'nowhere', '--backend', 'wasm']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/autointerp: subject model nowhere: folder not found/);
    const hook = await cli([
      'extract',
      '--model',
      modelDir,
      '--corpus',
      corpus,
      '--hook',
      'blocks.0.mlp.post',
      '--backend',
      'wasm',
    ]);
    expect(hook.code).toBe(2);
    expect(hook.stderr).toMatch(
      /unknown hook "blocks\.0\.mlp\.post" for tiny; valid hooks: .*blocks\.0\.mlp\.hook_post/,
    );
  });
});
