/**
 * @module cli/train-sae — `autointerp train-sae`: trains a sparse autoencoder on an activation cache (from
 * `autointerp extract`), writes it as a SAELens folder, evaluates it on a held-out cache (reconstruction metrics, and
 * CE loss recovered / KL through the subject model) and records SAE and metrics in SQLite and in the folder's
 * metrics.json (which a run over the SAE's features records in its own database). `autointerp sae-metrics` evaluates an
 * existing SAELens or sparsify folder the same way, but never writes into that folder (it may be the embedded
 * data/sae/*, under git): its metrics JSON goes to `--metrics-out`, by default `<name>.metrics.json` beside the
 * database; without `--eval-cache` it has nothing to measure and refuses.
 * Exit codes: 0 done, 2 usage or data error, 130 interrupted (Ctrl+C: the checkpoint is saved, `--resume` continues).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import type { BackendPreference } from '../subject/backend.ts';
import type { SaeEvaluation } from '../sae/evaluate-on-cache.ts';
import type { LoadedSae } from '../sae/formats.ts';
import type { SaeTrainingProgress } from '../sae/train-sae.ts';
import { saeMetricsFile, type SaeSplitMetrics } from '../pipeline/record-saes.ts';
import { abortOnSignals } from './abort-on-signals.ts';
import { UsageError } from './errors.ts';
import { defaultModelDir } from './extract.ts';
import { compactCount } from './progress.ts';
import {
  databaseOption,
  deprecatedOption,
  positiveInteger,
  positiveNumber,
  renamedOptionValue,
} from './shared-options.ts';

const backendChoices: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/** Library parts, imported when the command runs (tfjs costs every other command's start-up otherwise). */
async function loadLibrary() {
  const [backend, cache, loadSubject, formats, model, onCache, evaluate, database, saeStore] = await Promise.all([
    import('../subject/backend.ts'),
    import('../subject/activation-cache.ts'),
    import('../subject/load-subject.ts'),
    import('../sae/formats.ts'),
    import('../sae/sae-model.ts'),
    import('../sae/train-on-cache.ts'),
    import('../sae/evaluate-on-cache.ts'),
    import('../store/database.ts'),
    import('../store/sae-store.ts'),
  ]);
  return {
    ...backend,
    ...cache,
    ...loadSubject,
    ...formats,
    ...model,
    ...onCache,
    ...evaluate,
    ...database,
    ...saeStore,
  };
}
type Library = Awaited<ReturnType<typeof loadLibrary>>;

interface EvaluationFlags {
  evalCache?: string;
  evalTokens: number;
  model?: string;
  splice: boolean;
  db?: string;
  name?: string;
  backend: BackendPreference;
  progress: boolean;
  verbose?: boolean;
}

interface TrainFlags extends EvaluationFlags {
  cache: string;
  out: string;
  architecture: 'standard' | 'topk';
  expansion?: number;
  latents?: number;
  k: number;
  l1: number;
  steps?: number;
  lr: number;
  seed: number;
  normalize: boolean;
  checkpointEvery: number;
  resume?: boolean;
  dtype: 'f32' | 'f16';
  workers: number;
}

function addEvaluationOptions(command: Command): Command {
  return command
    .option(
      '--eval-cache <dir>',
      'activation cache of held-out text to measure on (same model and hook); train-sae measures nothing without it, sae-metrics refuses',
    )
    .option(
      '--eval-tokens <n>',
      'tokens of --eval-cache to measure on (whole sequences from its start)',
      positiveInteger,
      65536,
    )
    .option(
      '--model <dir>',
      'subject model for CE loss recovered and KL (default: the embedded model when the cache was extracted with it)',
    )
    .option('--no-splice', 'skip the splice metrics (CE loss recovered, KL) that run the subject model')
    .addOption(databaseOption())
    .option('--name <name>', 'name of the SAE in the database and in feature ids (default: the folder name)')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...backendChoices]).default('auto'))
    .option('--no-progress', 'no progress bar')
    .option('--verbose', 'say why faster tfjs backends are absent, with their errors');
}

/** A training progress bar on stderr (steps, loss, L0, FVU, dead fraction). */
function createTrainingBar(enabled: boolean) {
  const bar = new cliProgress.SingleBar(
    {
      format:
        'train-sae [{bar}] {value}/{total} steps | loss {loss} | L0 {l0} | FVU {fvu} | dead {dead} | {speed} tokens/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let payload = { loss: '…', l0: '…', fvu: '…', dead: '…', speed: '…' };
  return {
    update(progress: SaeTrainingProgress) {
      if (!enabled) return;
      if (progress.metrics) {
        const m = progress.metrics;
        payload = {
          loss: m.loss.toFixed(1),
          l0: m.l0.toFixed(1),
          fvu: m.fvu === null ? '—' : m.fvu.toFixed(3),
          dead: `${(m.deadFraction * 100).toFixed(1)}%`,
          speed: '',
        };
      }
      payload.speed = compactCount(Math.round(progress.tokens / Math.max(progress.elapsedSeconds, 1e-9)));
      if (!started) {
        bar.start(progress.steps, progress.step, payload);
        started = true;
      } else bar.update(progress.step, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function formatEvaluation(evaluation: SaeEvaluation): string {
  const r = evaluation.reconstruction;
  const s = evaluation.splice;
  const f = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
  const lines = [
    `measured on ${evaluation.tokens} tokens (${evaluation.sequences} sequences) of ${evaluation.cache}`,
    `  L0 ${f(r.l0, 1)} | FVU ${f(r.fvu)} | explained variance ${f(r.explainedVariance)} | MSE ${f(r.mse, 4)} | dead ${f(r.deadFraction)} | dense ${f(r.denseFraction)}`,
  ];
  if (s) {
    lines.push(
      `  CE orig ${f(s.ceOriginal)} | spliced ${f(s.ceReconstructed)} | zero-ablated ${f(s.ceZeroAblated)} | CE loss recovered ${f(s.ceLossRecovered)} | KL ${f(s.klDivergence, 4)} | KL score ${f(s.klScore)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The subject model for the splice metrics: --model, else the embedded one when the cache came from it. */
async function spliceSubject(library: Library, flags: EvaluationFlags, evalCache: string) {
  if (!flags.splice) return undefined;
  const header = library.readCacheHeader(evalCache);
  if (!header) throw new UsageError(`--eval-cache ${evalCache}: not an activation cache`);
  const directory = flags.model ?? defaultModelDir;
  const subject = await library.loadSubjectModel(directory);
  if (subject.digests.model === header.modelDigest) return subject;
  subject.model.dispose();
  if (flags.model)
    throw new UsageError(
      `--model ${flags.model} is not the model ${header.model} that ${evalCache} was extracted with`,
    );
  process.stderr.write(
    `no splice metrics: the cache was extracted with ${header.model}; give its folder with --model\n`,
  );
  return undefined;
}

/**
 * Evaluates (when --eval-cache) and records the SAE (when --db or always into the default database); the metrics also
 * go to `metricsFile` (train-sae: the folder it wrote; sae-metrics: --metrics-out or beside the database).
 */
async function evaluateAndRecord(
  library: Library,
  flags: EvaluationFlags,
  folder: string,
  loaded: LoadedSae,
  training: unknown,
  metricsFile: string,
): Promise<void> {
  const name = flags.name ?? basename(resolve(folder));
  const weightsFile = existsSync(join(folder, library.saeLensFiles.weights))
    ? join(folder, library.saeLensFiles.weights)
    : join(folder, library.sparsifyFiles.weights);
  const digest = `sha256:${createHash('sha256').update(readFileSync(weightsFile)).digest('hex')}`;
  let evaluation: SaeEvaluation | null = null;
  if (flags.evalCache) {
    const evalCache = flags.evalCache;
    const subject = await spliceSubject(library, flags, evalCache);
    const sae = library.SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
    try {
      let last = '';
      evaluation = await library.evaluateSaeOnCache(sae, evalCache, {
        tokens: flags.evalTokens,
        ...(subject ? { subject } : {}),
        onProgress: (phase, done, total) => {
          if (!flags.progress || !process.stderr.isTTY) return;
          const line = `measuring: ${phase} ${Math.round((100 * done) / total)}%`;
          if (line !== last) process.stderr.write(`\r${line}`);
          last = line;
        },
      });
      if (last) process.stderr.write('\n');
    } finally {
      sae.dispose();
      subject?.model.dispose();
    }
    process.stdout.write(formatEvaluation(evaluation));
  }
  const db = library.openDatabase(library.resolveDatabasePath(flags.db));
  try {
    const store = new library.SaeStore(db);
    const c = loaded.config;
    const id = store.recordSae({
      name,
      model: c.modelName,
      hook: c.hookName,
      architecture: c.architecture,
      dIn: c.dIn,
      dSae: c.dSae,
      k: c.k ?? null,
      l1Coefficient: c.l1Coefficient ?? null,
      path: resolve(folder),
      weightsDigest: digest,
      training,
    });
    if (evaluation) {
      const split = basename(resolve(evaluation.cache));
      const metrics = library.flattenSaeEvaluation(evaluation);
      store.recordMetrics(id, split, evaluation.tokens, metrics, evaluation.reconstruction.logDensityHistogram);
      writeMetricsFile(metricsFile, name, split, {
        tokens: evaluation.tokens,
        metrics,
        logDensityHistogram: evaluation.reconstruction.logDensityHistogram,
      });
    }
    process.stderr.write(`recorded SAE ${name} in ${db.name}${evaluation ? ' with its metrics' : ''}\n`);
  } finally {
    db.close();
  }
}

/** Adds (or replaces) one split in a metrics JSON file (an SAE folder's metrics.json is what a run records). */
function writeMetricsFile(file: string, name: string, split: string, value: SaeSplitMetrics): void {
  try {
    const existing = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    writeFileSync(file, `${JSON.stringify({ ...existing, name, [split]: value }, null, 2)}\n`);
    process.stderr.write(`wrote the metrics to ${file}\n`);
  } catch (error) {
    process.stderr.write(`note: could not write ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}

export function registerTrainSaeCommands(program: Command): void {
  const train = program
    .command('train-sae')
    .description(
      'train a sparse autoencoder on an activation cache (autointerp extract), save it in SAELens layout, measure it and record it in SQLite',
    )
    .requiredOption('--cache <dir>', 'activation cache to train on (from autointerp extract)')
    .requiredOption(
      '--out <dir>',
      'SAELens folder to write (cfg.json, sae_weights.safetensors, sparsity.safetensors, training.json)',
    )
    .addOption(
      new Option('--architecture <name>', 'standard: ReLU + L1; topk: TopK + AuxK')
        .choices(['standard', 'topk'])
        .default('standard'),
    )
    .option('--expansion <n>', 'latents = n × the cache width (default 4)', positiveInteger)
    .option('--latents <n>', 'latents (d_sae), instead of --expansion', positiveInteger)
    .option('--k <n>', 'topk: latents per token', positiveInteger, 32)
    .option('--l1 <lambda>', 'standard: sparsity coefficient λ (inputs normalized to norm √d_in)', positiveNumber, 5)
    .option('--steps <n>', 'training steps (default: one pass over the cache)', positiveInteger)
    .option('--batch-size <n>', 'rows per step', positiveInteger, 1024)
    .addOption(deprecatedOption('--batch <n>', '--batch-size', positiveInteger))
    .option('--lr <rate>', 'Adam learning rate', positiveNumber, 1e-3)
    .option('--seed <n>', 'seed of the initialisation and the batch order', (value) => Number.parseInt(value, 10), 0)
    .option('--no-normalize', 'train on the raw activations (default: scaled to mean norm √d_in, undone on decoding)')
    .option('--checkpoint-every <n>', 'steps between checkpoints in <out>/checkpoint', positiveInteger, 200)
    .option('--resume', 'continue the checkpoint in <out>/checkpoint')
    .addOption(new Option('--dtype <type>', 'weight dtype of the saved file').choices(['f32', 'f16']).default('f32'))
    .option(
      '--workers <n>',
      "threads per step: each batch's rows split between this one and n − 1 workers, a wasm backend each",
      positiveInteger,
      1,
    );
  addEvaluationOptions(train).action(async (flags: TrainFlags, command: Command) => {
    const batchSize = renamedOptionValue<number>(
      command,
      '--batch',
      '--batch-size',
      '--batch means the Batch API of `run`',
    );
    if (flags.expansion !== undefined && flags.latents !== undefined)
      throw new UsageError('give --expansion or --latents, not both');
    const library = await loadLibrary();
    const backend = await library.initBackend(flags.backend);
    process.stderr.write(`${library.describeBackendChoice(backend, flags.verbose)}\n`);
    const header = library.readCacheHeader(flags.cache);
    if (!header) throw new UsageError(`--cache ${flags.cache}: not an activation cache (no cache.json)`);
    const latents = flags.latents ?? header.width * (flags.expansion ?? 4);
    const stop = abortOnSignals({
      stopping: 'stopping after the step in flight and saving the checkpoint…',
      forced: 'the last checkpoint is kept: continue with --resume',
    });
    const bar = createTrainingBar(flags.progress && process.stderr.isTTY === true);
    let announced = false;
    let result;
    try {
      result = await library.trainSaeOnCache({
        cacheDir: flags.cache,
        outDir: flags.out,
        architecture: flags.architecture,
        latents,
        k: flags.k,
        l1Coefficient: flags.l1,
        normalize: flags.normalize,
        batchSize,
        ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
        seed: flags.seed,
        trainer: { learningRate: flags.lr },
        checkpointEvery: flags.checkpointEvery,
        resume: flags.resume ?? false,
        dtype: flags.dtype === 'f16' ? 'F16' : 'F32',
        onProgress: (progress) => {
          // One line after the first step (the Ctrl+C handler is in place by then): how far it goes, how to stop it.
          if (!announced) {
            announced = true;
            process.stderr.write(
              `training: step ${progress.step} of ${progress.steps} done; Ctrl+C stops after the step in flight and saves a checkpoint for --resume\n`,
            );
          }
          bar.update(progress);
        },
        signal: stop.signal,
        workers: flags.workers,
      });
    } finally {
      bar.stop();
      stop.dispose();
    }
    const t = result.training;
    const m = t.lastMetrics;
    process.stderr.write(
      `trained ${t.steps} steps (${t.tokens} tokens${t.resumedFrom !== null ? `, resumed at step ${t.resumedFrom}` : ''}) in ${t.seconds.toFixed(1)} s` +
        `${m ? `; last batch: L0 ${m.l0.toFixed(1)}, FVU ${m.fvu?.toFixed(3) ?? '—'}` : ''}\n`,
    );
    if (t.interrupted) {
      process.stderr.write(
        `interrupted: checkpoint in ${result.checkpointDir}; continue with the same command and --resume\n`,
      );
      process.exitCode = 130;
      return;
    }
    process.stderr.write(`wrote ${flags.out}\n`);
    const loaded = library.loadSaeLens(flags.out);
    await evaluateAndRecord(
      library,
      flags,
      flags.out,
      loaded,
      JSON.parse(readFileSync(join(flags.out, library.trainingRecordFile), 'utf8')),
      join(flags.out, saeMetricsFile),
    );
  });

  addEvaluationOptions(
    program
      .command('sae-metrics')
      .description(
        'measure an SAE folder (SAELens or sparsify layout) on a held-out activation cache and record it in SQLite',
      )
      .argument('<dir>', 'SAE folder')
      .option(
        '--hook <name>',
        'hook point (sparsify folders do not say; default: the hook point of the module the folder is named after)',
      )
      .option('--model-name <name>', 'subject model name (sparsify folders do not say)')
      .option(
        '--metrics-out <file>',
        'the metrics JSON to write (default: <name>.metrics.json beside the database); the SAE folder is never written',
      ),
  ).action(
    async (folder: string, flags: EvaluationFlags & { hook?: string; modelName?: string; metricsOut?: string }) => {
      if (!flags.evalCache) {
        throw new UsageError(
          'sae-metrics: nothing to measure without --eval-cache <dir>, an activation cache of held-out text from the same model and hook (autointerp extract)',
        );
      }
      if (flags.metricsOut && !existsSync(dirname(resolve(flags.metricsOut))))
        throw new UsageError(
          `--metrics-out ${flags.metricsOut}: the folder ${dirname(resolve(flags.metricsOut))} does not exist`,
        );
      const library = await loadLibrary();
      const backend = await library.initBackend(flags.backend);
      process.stderr.write(`${library.describeBackendChoice(backend, flags.verbose)}\n`);
      const overrides = {
        ...(flags.hook ? { hookName: flags.hook } : {}),
        ...(flags.modelName ? { modelName: flags.modelName } : {}),
      };
      const loaded = await library.loadSaeFolder(folder, overrides);
      for (const warning of loaded.warnings) process.stderr.write(`note: ${warning}\n`);
      const trainingFile = join(folder, library.trainingRecordFile);
      const name = flags.name ?? basename(resolve(folder));
      const metricsFile =
        flags.metricsOut ?? join(dirname(resolve(library.resolveDatabasePath(flags.db))), `${name}.metrics.json`);
      await evaluateAndRecord(
        library,
        flags,
        folder,
        loaded,
        existsSync(trainingFile) ? JSON.parse(readFileSync(trainingFile, 'utf8')) : undefined,
        metricsFile,
      );
    },
  );
}
