/**
 * @module bench/extract-scale — `extract` over a corpus larger than the process's heap, and records for every latent
 * of the 16× SAE (data/sae/brown-1l-16x, 8,192 latents) from the cache. Each step runs in a process of its own with
 * the V8 heap capped (`--max-old-space-size`, default 256 MB), peak RSS per process:
 *
 * 1. a synthetic plain-text corpus (default 1 GiB: documents of sentences drawn from the held-out Brown sample's
 *    words, blank lines between) is written;
 * 2. the reader before streaming (the whole file read and decoded, then split) is tried on it, for contrast;
 * 3. extract: the first pass over the corpus (digest, document count), then brown-1l to `blocks.0.mlp.hook_post` on
 *    its first `--tokens` tokens into a cache (time, tokens/s, peak RSS). A whole 1 GiB corpus is some 250 M tokens,
 *    hours at this machine's tokens/s: `--tokens all` runs it;
 * 4. records for `--latents` latents of the SAE from the cache, one pass over the cache (every latent of a row block
 *    encoded at once, nonzeros kept), written to a JSONL a chunk at a time (time, peak RSS); before it, in a process
 *    of its own, the first `--compare` latents (default 512; 0: skip) are built both ways (one pass; encoding and
 *    reading the cache per chunk of 64), CPU time as a ratio.
 *
 * Run: `npx tsx bench/extract-scale.ts [--corpus-mb 1024] [--heap-mb 256] [--tokens 100000] [--latents 8192]
 * [--compare 512] [--keep]`. Not part of `npm run bench`: it takes minutes (the 8,192 latents are about a minute of
 * CPU per 100k tokens). Prints numbers only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/common/random.ts';

const { values: flags } = parseArgs({
  options: {
    child: { type: 'string' },
    directory: { type: 'string' },
    'corpus-mb': { type: 'string', default: '1024' },
    'heap-mb': { type: 'string', default: '256' },
    tokens: { type: 'string', default: '100000' },
    latents: { type: 'string', default: '8192' },
    compare: { type: 'string', default: '512' },
    keep: { type: 'boolean', default: false },
  },
});

const root = fileURLToPath(new URL('../', import.meta.url));
const self = fileURLToPath(import.meta.url);
const hook = 'blocks.0.mlp.hook_post';
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;
const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

/** Writes `bytes` of plain text: documents of 10–60 sentences of Brown words, a blank line between documents. */
async function writeCorpus(file: string, bytes: number): Promise<number> {
  const sample = readFileSync(join(root, 'data/corpus/brown-heldout.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line).text as string);
  const words = sample.join(' ').split(/\s+/);
  const random = mulberry32(19);
  const sentence = () => {
    const length = 8 + Math.floor(random() * 20);
    const start = Math.floor(random() * (words.length - length));
    return `${words.slice(start, start + length).join(' ')}.`;
  };
  // A pool of paragraphs drawn once; documents are random runs of them (generation is not what is measured).
  const paragraphs = Array.from({ length: 4096 }, () => Array.from({ length: 5 }, sentence).join(' '));
  const stream = createWriteStream(file);
  let written = 0;
  let documents = 0;
  while (written < bytes) {
    const count = 2 + Math.floor(random() * 10);
    const parts: string[] = [];
    for (let index = 0; index < count; index++) parts.push(paragraphs[Math.floor(random() * paragraphs.length)]!);
    const text = `${parts.join('\n')}\n\n`;
    written += Buffer.byteLength(text);
    documents++;
    if (!stream.write(text)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return documents;
}

/** The reader before streaming: the whole file as one string, split into documents. */
function wholeFileChild(directory: string): void {
  const content = readFileSync(join(directory, 'corpus.txt')).toString('utf8');
  const documents = content.split(/\r?\n[ \t]*\r?\n/).length;
  writeFileSync(join(directory, 'whole.json'), JSON.stringify({ documents, peakRss: peakRssBytes() }));
}

async function extractChild(directory: string, tokens: number): Promise<void> {
  const { initBackend } = await import('../src/subject/backend.ts');
  const { openExtractionCorpus } = await import('../src/subject/extraction-corpus.ts');
  const { extractActivations } = await import('../src/subject/extract-activations.ts');
  const { loadSubjectModel } = await import('../src/subject/load-subject.ts');
  await initBackend('wasm');
  const subject = await loadSubjectModel(join(root, 'data/subject/brown-1l'));
  let started = performance.now();
  const corpus = openExtractionCorpus(join(directory, 'corpus.txt'));
  const firstPassSeconds = (performance.now() - started) / 1000;
  const afterFirstPass = peakRssBytes();
  started = performance.now();
  const cpu = cpuSeconds();
  const result = await extractActivations({
    modelDir: subject,
    hook,
    corpus,
    cacheDir: join(directory, 'cache'),
    ...(Number.isFinite(tokens) ? { maxTokens: tokens } : {}),
  });
  writeFileSync(
    join(directory, 'extract.json'),
    JSON.stringify({
      documents: corpus.documentCount,
      firstPassSeconds,
      afterFirstPass,
      tokens: result.tokensAdded,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: cpuSeconds() - cpu,
      tokensPerSecond: result.tokensPerSecond,
      peakTokensHeld: result.peakTokensHeld,
      peakRss: peakRssBytes(),
    }),
  );
  subject.model.dispose();
}

async function recordsChild(directory: string, latents: number, compare: number): Promise<void> {
  // One of two in a process of its own (peak RSS is per process): the side-by-side comparison (--compare N > 0), or
  // the records of every latent, written to a JSONL.
  const { initBackend } = await import('../src/subject/backend.ts');
  const { loadSaeLens } = await import('../src/sae/formats.ts');
  const { saeColumnSource } = await import('../src/sae/sae-columns.ts');
  const { SparseAutoencoder } = await import('../src/sae/sae-model.ts');
  const { recordChunksFromCache } = await import('../src/subject/records-from-cache.ts');
  const { writeFeatureRecordsJsonl } = await import('../src/records/jsonl.ts');
  await initBackend('wasm');
  const loaded = loadSaeLens(join(root, 'data/sae/brown-1l-16x'));
  const sae = SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
  const cacheDir = join(directory, 'cache');
  const features = (count: number) => Array.from({ length: count }, (_, index) => index);
  if (compare > 0) {
    const source = saeColumnSource(sae, 'brown-1l-16x');
    const perChunk = { width: source.width, kind: source.kind, sae: source.sae, read: source.read.bind(source) };
    const time = (columns: typeof source) => {
      const cpu = cpuSeconds();
      const started = performance.now();
      let count = 0;
      for (const chunk of recordChunksFromCache(cacheDir, { columns, features: features(compare), chunkFeatures: 64 }))
        count += chunk.records.length;
      return { count, seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSeconds() - cpu };
    };
    // Warm-up (compilation, the backend's first kernels), untimed; then each way once.
    for (const columns of [source, perChunk])
      for (const _ of recordChunksFromCache(cacheDir, { columns, features: features(8), chunkFeatures: 4 }));
    const compared = { perChunk: time(perChunk), onePass: time(source) };
    writeFileSync(join(directory, 'compare.json'), JSON.stringify(compared));
    sae.dispose();
    return;
  }
  let passes = 0;
  let sparseBytes = 0;
  const source = saeColumnSource(sae, 'brown-1l-16x', {
    onPass: (pass) => {
      passes++;
      sparseBytes = Math.max(sparseBytes, pass.bytes);
    },
  });
  const cpu = cpuSeconds();
  const started = performance.now();
  let count = 0;
  const recordsFile = join(directory, 'sae-records.jsonl');
  const chunks = recordChunksFromCache(cacheDir, { columns: source, features: features(latents), chunkFeatures: 64 });
  await writeFeatureRecordsJsonl(
    recordsFile,
    (function* () {
      for (const chunk of chunks) {
        count += chunk.records.length;
        yield* chunk.records;
      }
    })(),
  );
  const built = {
    count,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds() - cpu,
    passes,
    sparseBytes,
    fileBytes: statSync(recordsFile).size,
    peakRss: peakRssBytes(),
  };
  writeFileSync(join(directory, 'records.json'), JSON.stringify(built));
  sae.dispose();
}

const heapMb = Number(flags['heap-mb']);
const child = (kind: string, directory: string, ...args: string[]) =>
  execFileSync(
    process.execPath,
    [`--max-old-space-size=${heapMb}`, '--import', 'tsx', self, '--child', kind, '--directory', directory, ...args],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );

const tokensFlag = flags.tokens === 'all' ? Infinity : Number(flags.tokens);
if (flags.child === 'whole-file') wholeFileChild(flags.directory!);
else if (flags.child === 'extract') await extractChild(flags.directory!, tokensFlag);
else if (flags.child === 'records') await recordsChild(flags.directory!, Number(flags.latents), Number(flags.compare));
else {
  const corpusBytes = Number(flags['corpus-mb']) * 2 ** 20;
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-extract-scale-'));
  console.log(
    `extract-scale bench: brown-1l ${hook}, wasm, each step a process with --max-old-space-size=${heapMb}; load average ${load()}`,
  );
  try {
    const started = performance.now();
    const documents = await writeCorpus(join(directory, 'corpus.txt'), corpusBytes);
    const size = statSync(join(directory, 'corpus.txt')).size;
    console.log(
      `corpus: ${mb(size)} MiB of plain text, ${documents} documents, written in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const whole = spawnSync(
      process.execPath,
      [`--max-old-space-size=${heapMb}`, '--import', 'tsx', self, '--child', 'whole-file', '--directory', directory],
      { encoding: 'utf8' },
    );
    const failure = `${whole.stderr}`.split('\n').find((line) => /Error|heap|string longer/i.test(line)) ?? '';
    console.log(
      whole.status === 0
        ? `whole-file read (the reader before streaming): ${JSON.parse(readFileSync(join(directory, 'whole.json'), 'utf8')).documents} pieces, peak RSS ${mb(JSON.parse(readFileSync(join(directory, 'whole.json'), 'utf8')).peakRss)} MB`
        : `whole-file read (the reader before streaming): fails (exit ${whole.status ?? whole.signal}): ${failure.trim().slice(0, 160)}`,
    );

    child('extract', directory, '--tokens', String(flags.tokens));
    const extract = JSON.parse(readFileSync(join(directory, 'extract.json'), 'utf8'));
    console.log(
      `extract: first pass (sha256, ${extract.documents} documents) ${extract.firstPassSeconds.toFixed(1)} s = ${(size / 2 ** 20 / extract.firstPassSeconds).toFixed(0)} MiB/s, peak RSS after it ${mb(extract.afterFirstPass)} MB; ` +
        `${extract.tokens} tokens in ${extract.seconds.toFixed(1)} s (${extract.cpuSeconds.toFixed(1)} s CPU), ${Math.round(extract.tokensPerSecond)} tokens/s; ` +
        `at most ${extract.peakTokensHeld} token ids held; peak RSS ${mb(extract.peakRss)} MB (load ${load()})`,
    );

    if (Number(flags.compare) > 0) {
      child('records', directory, '--compare', String(flags.compare));
      const { onePass, perChunk } = JSON.parse(readFileSync(join(directory, 'compare.json'), 'utf8'));
      console.log(
        `records for ${onePass.count} latents side by side: one pass ${onePass.cpuSeconds.toFixed(1)} s CPU (${onePass.seconds.toFixed(1)} s), per chunk of 64 ${perChunk.cpuSeconds.toFixed(1)} s CPU (${perChunk.seconds.toFixed(1)} s): ${(perChunk.cpuSeconds / onePass.cpuSeconds).toFixed(2)}× less CPU in one pass`,
      );
    }
    child('records', directory, '--latents', String(flags.latents), '--compare', '0');
    const built = JSON.parse(readFileSync(join(directory, 'records.json'), 'utf8'));
    console.log(
      `records for ${built.count} SAE latents from ${extract.tokens} tokens: ${built.seconds.toFixed(1)} s (${built.cpuSeconds.toFixed(1)} s CPU), ${built.passes} pass(es) over the cache, nonzeros ${mb(built.sparseBytes)} MB, ` +
        `records file ${mb(built.fileBytes)} MiB; peak RSS ${mb(built.peakRss)} MB (load ${load()})`,
    );
  } finally {
    if (flags.keep) console.log(`kept ${directory}`);
    else rmSync(directory, { recursive: true, force: true });
  }
}
