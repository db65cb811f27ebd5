import { mkdtempSync, openSync, closeSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivationCache } from '../../src/subject/activation-cache.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { extractActivations, ExtractionSetupError } from '../../src/subject/extract-activations.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';
import { tinyGpt2Config, writeTinyGpt2Folder } from '../helpers/tiny-gpt2.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const temporary = mkdtempSync(join(tmpdir(), 'autointerp-extract-streamed-'));
const hook = 'blocks.0.mlp.hook_post';
const sequenceLength = 16;
const config = tinyGpt2Config({ nPositions: sequenceLength });
let subject: SubjectModel;
const texts = readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl'))
  .slice(0, 3)
  .map((document) => document.text.slice(0, 400));

/** A JSONL corpus of the three texts, `copies` times over. */
function writeCorpus(copies: number): string {
  const file = join(temporary, `corpus-${copies}.jsonl`);
  const lines = Array.from({ length: copies }, () => texts.map((text) => JSON.stringify({ text }))).flat();
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

beforeAll(async () => {
  await initBackend('wasm');
  const modelDir = join(temporary, 'tiny-gpt2');
  writeTinyGpt2Folder(modelDir, config, 3);
  subject = await loadSubjectModel(modelDir);
});
afterAll(() => {
  subject?.model.dispose();
  rmSync(temporary, { recursive: true, force: true });
});

describe('extractActivations over a streamed corpus', () => {
  it('holds a document and a batch of token ids whatever the corpus length; the progress estimate ends exact', async () => {
    const longestDocument = Math.max(...texts.map((text) => subject.tokenizer.encode(text).length + 1));
    const batchSize = 4;
    const held: number[] = [];
    for (const copies of [1, 4]) {
      const progress: { tokens: number; tokensPlanned: number }[] = [];
      const result = await extractActivations({
        modelDir: subject,
        hook,
        corpus: writeCorpus(copies),
        cacheDir: join(temporary, `cache-${copies}`),
        batchSize,
        onProgress: ({ tokens, tokensPlanned }) => progress.push({ tokens, tokensPlanned }),
      });
      expect(result.header).toMatchObject({ corpusComplete: true, corpus: { documents: 3 * copies } });
      expect(progress.at(-1)).toEqual({ tokens: result.header.tokens, tokensPlanned: result.header.tokens });
      for (const update of progress) expect(update.tokensPlanned).toBeGreaterThanOrEqual(update.tokens);
      held.push(result.peakTokensHeld);
    }
    for (const peak of held) {
      expect(peak).toBeGreaterThanOrEqual(longestDocument);
      expect(peak).toBeLessThanOrEqual(longestDocument + (batchSize - 1) * sequenceLength);
    }
    // The four copies' cache is the one copy's tokens four times over.
    const one = ActivationCache.open(join(temporary, 'cache-1')).readTokens();
    const four = ActivationCache.open(join(temporary, 'cache-4')).readTokens();
    expect(Array.from(four)).toEqual(Array.from({ length: 4 }, () => Array.from(one)).flat());
  });

  it('refuses to resume a cache whose last sequence is not one of the corpus', async () => {
    const corpus = writeCorpus(1);
    const cacheDir = join(temporary, 'tampered');
    let batches = 0;
    await expect(
      extractActivations({
        modelDir: subject,
        hook,
        corpus,
        cacheDir,
        batchSize: 2,
        onProgress: () => {
          if (++batches === 3) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const { sequences } = ActivationCache.open(cacheDir).header;
    // Shorten the last sequence's recorded length (its third int32).
    const fd = openSync(join(cacheDir, 'sequences.bin'), 'r+');
    try {
      const length = new Int32Array(1);
      const position = (sequences * 3 - 1) * 4;
      readSync(fd, new Uint8Array(length.buffer), 0, 4, position);
      length[0]! -= 1;
      writeSync(fd, new Uint8Array(length.buffer), 0, 4, position);
    } finally {
      closeSync(fd);
    }
    const resume = extractActivations({ modelDir: subject, hook, corpus, cacheDir, batchSize: 2, resume: true });
    await expect(resume).rejects.toThrow(ExtractionSetupError);
    await expect(
      extractActivations({ modelDir: subject, hook, corpus, cacheDir, batchSize: 2, resume: true }),
    ).rejects.toThrow(/do not match this corpus's sequences: the cache's last sequence \(document 0/);
  });
});
