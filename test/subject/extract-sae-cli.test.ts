import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { saveSaeLens } from '../../src/sae/formats.ts';
import type { SaeConfig } from '../../src/sae/types.ts';
import { readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { cli as runCli } from '../helpers/run-cli.ts';
import { tinyGpt2Config, writeTinyGpt2Folder } from '../helpers/tiny-gpt2.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-extract-sae-cli-'));
const modelDir = join(directory, 'tiny');
const saeDir = join(directory, 'tiny-sae-4x');
const corpus = join(directory, 'corpus.txt');
const config = tinyGpt2Config();
const dSae = 96;

const cli = (args: string[]) => runCli(args, { cwd: directory });

beforeAll(() => {
  writeTinyGpt2Folder(modelDir, config, 3);
  const texts = readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl'))
    .slice(0, 2)
    .map((document) => document.text.slice(0, 1000));
  writeFileSync(corpus, texts.join('\n\n'));
  const random = mulberry32(4);
  const saeConfig: SaeConfig = {
    dIn: config.nInner!,
    dSae,
    architecture: 'standard',
    applyBDecToInput: false,
    normalizeActivations: 'none',
    hookName: 'blocks.0.mlp.hook_post',
    modelName: 'tiny',
  };
  saveSaeLens(saeDir, saeConfig, {
    W_enc: Float32Array.from({ length: saeConfig.dIn * dSae }, () => random() - 0.5),
    b_enc: Float32Array.from({ length: dSae }, () => -0.1 * random()),
    W_dec: Float32Array.from({ length: dSae * saeConfig.dIn }, () => random() - 0.5),
    b_dec: new Float32Array(saeConfig.dIn),
  });
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('autointerp extract --sae', () => {
  it("writes records of the SAE's latents, and refuses an SAE of another hook or without --records-out", async () => {
    const base = ['extract', '--model', modelDir, '--corpus', corpus, '--backend', 'wasm', '--no-progress'];
    const result = await cli([...base, '--cache', 'cache', '--sae', saeDir, '--records-out', 'sae.jsonl']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/records: 96 latents of tiny-sae-4x written to sae\.jsonl/);
    const lines = readFileSync(join(directory, 'sae.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(dSae);
    expect(JSON.parse(lines[95]!).id).toEqual({
      model: 'tiny',
      layer: 'blocks.0.mlp.hook_post',
      kind: 'sae',
      index: 95,
      sae: 'tiny-sae-4x',
    });

    const otherHook = await cli([
      ...base,
      '--hook',
      'blocks.0.hook_resid_post',
      '--sae',
      saeDir,
      '--records-out',
      'x.jsonl',
    ]);
    expect(otherHook.code).toBe(2);
    expect(otherHook.stderr).toMatch(
      /--sae .*tiny-sae-4x reads blocks\.0\.mlp\.hook_post, but --hook is blocks\.0\.hook_resid_post/,
    );
    const noRecords = await cli([...base, '--sae', saeDir]);
    expect(noRecords.code).toBe(2);
    expect(noRecords.stderr).toMatch(/--sae builds records: give --records-out too/);
  });
});
