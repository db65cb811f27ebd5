/**
 * @module bench/extract — end-to-end extraction throughput of `autointerp extract` on the embedded model: tokenize the
 * held-out corpus sample, run brown-1l to `blocks.0.mlp.hook_post`, write the f16 activation cache; then build records
 * for all 512 neurons from the cache. Printed beside the bare forward pass to the same hook on the same batches, so
 * the ratio shows what the cache writing and tokenizing cost. Then the same extraction with `--workers N` forward
 * workers (default every CPU; subject/parallel-forward.ts), alternated with one-thread runs `--rounds` times each
 * (medians; the workers' start is not in their time), and whether the two caches hold the same bytes.
 * Run: `npx tsx bench/extract.ts [--tokens 50000] [--workers N] [--rounds 2]`. Prints numbers only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackendOrExit, tf, type BackendPreference } from '../src/subject/backend.ts';
import { extractActivations } from '../src/subject/extract-activations.ts';
import { recordsFromCache } from '../src/subject/records-from-cache.ts';
import { addCpu, type CpuSpent, cpuSince, idleCoresMilliseconds, threadCpu } from './thread-cpu.ts';
import { loadSubjectModel } from '../src/subject/load-subject.ts';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '50000' },
    backend: { type: 'string', default: 'auto' },
    workers: { type: 'string', default: String(availableParallelism()) },
    rounds: { type: 'string', default: '2' },
  },
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
    `extract:        ${result.tokensAdded} tokens in ${result.seconds.toFixed(1)} s  ${result.tokensPerSecond.toFixed(0)} tokens/s (tokenizing as the batches need it, forward + f16 cache writes)`,
  );
  console.log(
    `bare forward:   ${batches * ids.length} tokens in ${forwardSeconds.toFixed(1)} s  ${forwardRate.toFixed(0)} tokens/s`,
  );
  console.log(`ratio extract / bare forward: ${(result.tokensPerSecond / forwardRate).toFixed(2)}`);
  console.log(
    `records for ${built.records.length} neurons from ${built.tokens} tokens: ${recordsSeconds.toFixed(1)} s`,
  );

  const workers = Math.max(1, Number(values.workers));
  if (workers > 1) {
    const rates: Record<'one' | 'workers', number[]> = { one: [], workers: [] };
    const zero: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
    const cpu: Record<'one' | 'workers', CpuSpent> = { one: zero, workers: zero };
    let identical = true;
    for (let round = 0; round < Math.max(1, Number(values.rounds)); round++) {
      for (const kind of ['one', 'workers'] as const) {
        const cacheDir = join(directory, `${kind}-${round}`);
        const before = threadCpu();
        const run = await extractActivations({
          modelDir: subject,
          hook,
          corpus: join(root, 'data/corpus/brown-heldout.jsonl'),
          maxTokens: Number(values.tokens),
          cacheDir,
          workers: kind === 'one' ? 1 : workers,
        });
        rates[kind].push(run.tokensPerSecond);
        cpu[kind] = addCpu(cpu[kind], cpuSince(before, threadCpu()));
        identical &&= readFileSync(join(cacheDir, 'activations.bin')).equals(
          readFileSync(join(directory, 'cache', 'activations.bin')),
        );
      }
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    console.log(
      `extract, 1 thread vs ${workers} forward workers (alternated, medians of ${rates.one.length}): ${median(rates.one).toFixed(0)} vs ${median(rates.workers).toFixed(0)} tokens/s = ${(median(rates.workers) / median(rates.one)).toFixed(2)}×; caches ${identical ? 'byte-identical' : 'DIFFER'}; load average ${loadavg()
        .map((value) => value.toFixed(1))
        .join(' / ')}`,
    );
    // The work each thread did, whatever the load (the workers' start included): bench/thread-cpu.ts.
    const cores = availableParallelism();
    const parallel = idleCoresMilliseconds(cpu.workers, cores);
    if (parallel > 0)
      console.log(
        `  thread CPU: 1 thread ${cpu.one.main} ms (other threads ${cpu.one.others}); ${workers} workers: this thread ${cpu.workers.main} ms, busiest worker ${cpu.workers.busiestOther} ms, all others ${cpu.workers.others} ms → ${(idleCoresMilliseconds(cpu.one, cores) / parallel).toFixed(2)}× at most on ${cores} idle cores`,
      );
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
