/**
 * @module bench/extract — end-to-end extraction throughput of `autointerp extract` on the embedded model: tokenize the
 * held-out corpus sample, run brown-1l to `blocks.0.mlp.hook_post`, write the f16 activation cache; then build records
 * for all 512 neurons from the cache. Printed beside the bare forward pass to the same hook on the same batches, so
 * the ratio shows what the cache writing and tokenizing cost. Run: `npx tsx bench/extract.ts [--tokens 50000]`.
 * Prints numbers only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackendOrExit, tf, type BackendPreference } from '../src/subject/backend.ts';
import { extractActivations } from '../src/subject/extract-activations.ts';
import { recordsFromCache } from '../src/subject/records-from-cache.ts';
import { loadSubjectModel } from '../src/subject/load-subject.ts';

const { values } = parseArgs({
  options: { tokens: { type: 'string', default: '50000' }, backend: { type: 'string', default: 'auto' } },
});
const choice = await initBackendOrExit(values.backend as BackendPreference);
console.log(`backend: ${choice.description}`);
const root = fileURLToPath(new URL('../', import.meta.url));
const subject = await loadSubjectModel(join(root, 'data/subject/brown-1l'));
const hook = 'blocks.0.mlp.hook_post';
const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-extract-'));
try {
  const result = await extractActivations({
    modelDir: subject,
    hook,
    corpus: join(root, 'data/corpus/brown-heldout.jsonl'),
    maxTokens: Number(values.tokens),
    cacheDir: join(directory, 'cache'),
  });
  const recordsStarted = performance.now();
  const built = recordsFromCache(join(directory, 'cache'), { features: 'all' });
  const recordsSeconds = (performance.now() - recordsStarted) / 1000;

  // The bare forward pass on as many tokens, same batch shape (16 × context).
  const { nPositions, vocabSize } = subject.config;
  const batch = 16;
  const ids = Int32Array.from({ length: batch * nPositions }, (_, i) => (i * 7919) % vocabSize);
  const batches = Math.ceil(result.tokensAdded / ids.length);
  const forwardStarted = performance.now();
  for (let b = 0; b < batches; b++) {
    tf.tidy(() => {
      let captured: tf.Tensor | null = null;
      subject.model.forward(ids, batch, { hooks: { [hook]: (a) => void (captured = a) }, stopAt: hook });
      (captured as tf.Tensor | null)?.dataSync();
    });
  }
  const forwardSeconds = (performance.now() - forwardStarted) / 1000;
  const forwardRate = (batches * ids.length) / forwardSeconds;
  console.log(
    `extract:        ${result.tokensAdded} tokens in ${result.seconds.toFixed(1)} s  ${result.tokensPerSecond.toFixed(0)} tokens/s (tokenize excluded; forward + f16 cache writes)`,
  );
  console.log(
    `bare forward:   ${batches * ids.length} tokens in ${forwardSeconds.toFixed(1)} s  ${forwardRate.toFixed(0)} tokens/s`,
  );
  console.log(`ratio extract / bare forward: ${(result.tokensPerSecond / forwardRate).toFixed(2)}`);
  console.log(
    `records for ${built.records.length} neurons from ${built.tokens} tokens: ${recordsSeconds.toFixed(1)} s`,
  );
} finally {
  rmSync(directory, { recursive: true, force: true });
}
