/**
 * @module cli/extract — `autointerp extract`: runs a subject model over a corpus, stores one hook point's activations
 * in an activation cache (resumable), and optionally builds a records JSONL for `autointerp run --records`, with the
 * Brown POS reference labels of the features beside it. Exit codes: 0 done, 2 usage or data error, 130 interrupted
 * (Ctrl+C; the batches done are kept, `--resume` continues).
 */
import { abortOnSignals } from './abort-on-signals.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import type { BackendPreference } from '../subject/backend.ts';
import type { ExtractionProgress } from '../subject/extract-activations.ts';
import { UsageError } from './errors.ts';
import { loadSaeColumns, writeExtractRecords, type SaeColumns } from './extract-records.ts';
import { compactCount } from './progress.ts';
import { deprecatedOption, positiveInteger, renamedOptionValue } from './shared-options.ts';

/** `--backend` values (as subject/backend.ts's backendPreferences; typed here so that the CLI loads tfjs lazily). */
const backendChoices: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/**
 * The library parts, imported when the command runs: tfjs and the model code cost every other command's start-up
 * time otherwise.
 */
async function loadLibrary() {
  const [jsonl, backend, corpus, extract, featureList, records, loadSubject] = await Promise.all([
    import('../records/jsonl.ts'),
    import('../subject/backend.ts'),
    import('../subject/extraction-corpus.ts'),
    import('../subject/extract-activations.ts'),
    import('../subject/feature-list.ts'),
    import('../subject/records-from-cache.ts'),
    import('../subject/load-subject.ts'),
  ]);
  return { ...jsonl, ...backend, ...corpus, ...extract, ...featureList, ...records, ...loadSubject };
}

export const defaultModelDir = fileURLToPath(new URL('../../data/subject/brown-1l', import.meta.url));
export const defaultCorpus = fileURLToPath(new URL('../../data/corpus/brown-heldout.jsonl', import.meta.url));
export const defaultHook = 'blocks.0.mlp.hook_post';

interface ExtractFlags {
  model: string;
  hook: string;
  corpus: string;
  tokens?: number;
  cache?: string;
  resume?: boolean;
  recordsOut?: string;
  labelsOut?: string;
  sae?: string;
  features: string;
  backend: BackendPreference;
  workers: number;
  progress: boolean;
  verbose?: boolean;
}

/** A token-count progress bar on stderr; silent when stderr is not a terminal (the summary line still prints). */
function createExtractProgress(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    {
      format: 'extract [{bar}] {percentage}% | {done}/{planned} tokens | {speed} tokens/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress: ExtractionProgress) {
      if (!enabled) return;
      const payload = {
        done: compactCount(progress.tokens),
        planned: compactCount(progress.tokensPlanned),
        speed: Math.round(progress.tokensPerSecond),
      };
      if (!started) {
        bar.start(progress.tokensPlanned, progress.tokens, payload);
        started = true;
      } else {
        bar.setTotal(progress.tokensPlanned);
        bar.update(progress.tokens, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** `autointerp-cache/<model>/<hook>` under the working folder. */
function defaultCacheDir(modelName: string, hook: string): string {
  return join('autointerp-cache', modelName, hook);
}

export function registerExtractCommand(program: Command): void {
  program
    .command('extract')
    .description(
      "run a subject model over a corpus, cache one hook point's activations (resumable), and build feature records from them",
    )
    .addOption(
      new Option('--model <dir>', 'subject model folder: config.json, model.safetensors, tokenizer.json').default(
        defaultModelDir,
        'the embedded data/subject/brown-1l',
      ),
    )
    .option('--hook <name>', 'hook point, TransformerLens style', defaultHook)
    .addOption(
      new Option(
        '--corpus <file>',
        'corpus: the Brown sample JSONL (tagged), a JSONL of {"text": …}, or plain text with blank lines between documents',
      ).default(defaultCorpus, 'data/corpus/brown-heldout.jsonl'),
    )
    .option('--tokens <n>', 'at most this many tokens, whole sequences (default: the whole corpus)', positiveInteger)
    .option('--batch-sequences <n>', 'sequences per forward pass', positiveInteger, 16)
    .addOption(deprecatedOption('--batch <n>', '--batch-sequences', positiveInteger))
    .option('--cache <dir>', 'activation cache folder (default: autointerp-cache/<model>/<hook>)')
    .option(
      '--resume',
      'continue the cache in --cache (same model, hook and corpus) instead of refusing an existing one',
    )
    .option(
      '--records-out <file.jsonl>',
      'also build feature records (top-k, quantiles, random) into this JSONL, for `autointerp run --records`',
    )
    .option(
      '--labels-out <file.json>',
      'POS reference labels (Brown corpora) go here (default: beside --records-out, .labels.json)',
    )
    .option(
      '--sae <dir>',
      "build --records-out for the latents of this SAE (SAELens or sparsify folder reading --hook) instead of the hook's neurons",
    )
    .option('--features <list>', 'features to build records for: all, or e.g. 0-15 or 3,7,100-120', 'all')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...backendChoices]).default('auto'))
    .option(
      '--workers <n>',
      'forward passes on this many worker threads, a wasm backend each (batch i on one, i + 1 on the next; the same cache)',
      positiveInteger,
      1,
    )
    .option('--no-progress', 'no progress bar')
    .option('--verbose', 'say why faster tfjs backends are absent, with their errors')
    .action(async (flags: ExtractFlags, command: Command) => {
      const batchSequences = renamedOptionValue<number>(
        command,
        '--batch',
        '--batch-sequences',
        '--batch means the Batch API of `run`',
      );
      const library = await loadLibrary();
      const {
        initBackend,
        describeBackendChoice,
        loadSubjectModel,
        openExtractionCorpus,
        extractActivations,
        extractionWidth,
        parseFeatureList,
      } = library;
      if (flags.sae && !flags.recordsOut) throw new UsageError('--sae builds records: give --records-out too');
      const backend = await initBackend(flags.backend);
      process.stderr.write(`${describeBackendChoice(backend, flags.verbose)}\n`);
      const subject = await loadSubjectModel(flags.model);
      let features: number[] | 'all' = 'all';
      let sae: SaeColumns | null = null;
      try {
        const width = extractionWidth(subject, flags.hook);
        if (flags.sae) sae = await loadSaeColumns(flags.sae, flags.hook);
        if (flags.recordsOut) features = parseFeatureList(flags.features, sae?.width ?? width);
      } catch (error) {
        subject.model.dispose();
        sae?.dispose();
        if (error instanceof RangeError) throw new UsageError(`--features: ${error.message}`);
        throw error;
      }
      let corpus;
      try {
        corpus = openExtractionCorpus(flags.corpus);
      } catch (error) {
        subject.model.dispose();
        sae?.dispose();
        throw error;
      }
      const cacheDir = flags.cache ?? defaultCacheDir(subject.name, flags.hook);
      const stop = abortOnSignals({
        stopping: 'stopping after the batch in flight…',
        forced: 'the cache keeps every committed batch: continue with --resume',
      });
      const progress = createExtractProgress(flags.progress && process.stderr.isTTY === true);
      let result;
      try {
        result = await extractActivations({
          modelDir: subject,
          hook: flags.hook,
          corpus,
          cacheDir,
          batchSize: batchSequences,
          workers: flags.workers,
          resume: flags.resume ?? false,
          signal: stop.signal,
          onProgress: (update) => progress.update(update),
          ...(flags.tokens !== undefined ? { maxTokens: flags.tokens } : {}),
        });
      } catch (error) {
        sae?.dispose();
        throw error;
      } finally {
        progress.stop();
        stop.dispose();
        subject.model.dispose();
      }
      const { header } = result;
      process.stderr.write(
        `cache ${cacheDir}: ${header.tokens} tokens in ${header.sequences} sequences of ${subject.name} at ${header.hook} (width ${header.width})` +
          `${result.resumedTokens ? `, ${result.resumedTokens} resumed` : ''}; this run ${result.tokensAdded} tokens in ${result.seconds.toFixed(1)} s` +
          ` (${Math.round(result.tokensPerSecond)} tokens/s)${header.corpusComplete ? ', whole corpus' : ''}\n`,
      );
      if (result.interrupted) {
        process.stderr.write(`interrupted: continue with the same command and --resume\n`);
        sae?.dispose();
        process.exitCode = 130;
        return;
      }
      if (!flags.recordsOut) return;
      try {
        await writeExtractRecords({
          cacheDir,
          header,
          recordsOut: flags.recordsOut,
          features,
          ...(flags.labelsOut ? { labelsOut: flags.labelsOut } : {}),
          ...(sae ? { columns: sae.source } : {}),
        });
      } finally {
        sae?.dispose();
      }
    });
}
