/** @module cli/run — `autointerp run`: the whole pipeline on a records source (or the embedded demo), then the leaderboard. */
import { abortOnSignals } from './abort-on-signals.ts';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { DEMO_SOURCE, pipelineConfigDefaults as defaults } from '../pipeline/config-defaults.ts';
import type { OperationalOverrides, PipelineConfigInput } from '../pipeline/config.ts';
import { DEFAULT_CONTEXT_TOKENS } from '../llm/default-context-tokens.ts';
import { formatShard, parseShard, type ShardSpec } from '../records/shards.ts';
import type { RunSummary } from '../pipeline/run-summary.ts';
import { escapeTerminalText, jsonWithoutRawControls } from '../report/terminal-text.ts';
import { collect } from './compare.ts';
import { UsageError } from './errors.ts';
import type { BatchEvent } from '../pipeline/batch-mode.ts';
import { createRunProgress, formatUsd, type RunProgress } from './progress.ts';
import {
  addProviderOptions,
  addReliabilityOptions,
  databaseOption,
  nonNegativeInteger,
  nonNegativeNumber,
  openStore,
  positiveInteger,
  recordsPerCallFlag,
  positiveNumber,
  reliabilityOverrides,
  terminalWidth,
  type ReliabilityFlags,
} from './shared-options.ts';

interface RunOptions extends ReliabilityFlags {
  records?: string;
  demo?: boolean;
  model?: string;
  name?: string;
  explainer: string;
  simulator: string;
  baseUrl?: string;
  simulationMode?: 'prompt-logprobs' | 'chat-logprobs' | 'sampled';
  simulationSamples?: number;
  recordsPerCall?: number | 'all';
  contextTokens?: number;
  explainPrompt?: string;
  simulatePrompt?: string;
  concurrency?: number;
  limit?: number;
  shard?: ShardSpec | 'auto';
  shards?: number;
  ablation: boolean;
  subjectModel?: string[];
  sae?: string[];
  scorers?: string[];
  judge?: string;
  resume?: string;
  db?: string;
  json?: boolean;
  progress: boolean;
  batch?: boolean;
  batchPoll?: number;
  batchWait?: number;
  explanations?: number;
  revise?: number;
  scoreAllCandidates?: boolean;
  explainNegatives?: number;
  calibrationTop?: number;
  calibrationRandom?: number;
}

/** One line of batch-mode news on stderr (clearing a progress bar drawn on a terminal first; it redraws itself). */
function batchLine(text: string): void {
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${text}\n`);
}

/** Prints what batch mode does: requests collected, batches submitted, their progress, stored, left pending. */
function reportBatchEvents(progress: RunProgress | null, resumeCommand: () => string): (event: BatchEvent) => void {
  const lastSeen = new Map<string, string>();
  return (event) => {
    switch (event.kind) {
      case 'collected':
        if (event.requests > 0) {
          batchLine(
            `batch ${event.phase}: ${event.requests} requests · ${event.answered} answered already · ${event.pending} pending in recorded batches · ${event.toSubmit} to submit`,
          );
        }
        break;
      case 'submitted':
        batchLine(
          `submitted ${event.phase} batch ${event.batchId} to ${event.provider}: ${event.requests} requests (recorded; if this process stops, \`${resumeCommand()}\` polls it again)`,
        );
        break;
      case 'polled': {
        const { state } = event;
        const done = state.counts.succeeded + state.counts.failed;
        const line = `batch ${event.batchId} (${event.phase}) ${state.status} ${done}/${state.counts.total}${state.counts.failed > 0 ? ` (${state.counts.failed} failed)` : ''}`;
        progress?.note(line);
        if (!progress && lastSeen.get(event.batchId) !== line)
          batchLine(`${line} · waited ${Math.round(event.waitedMs / 1000)} s`);
        lastSeen.set(event.batchId, line);
        break;
      }
      case 'ingested':
        progress?.note('');
        batchLine(
          `batch ${event.batchId} (${event.phase}) ended: ${event.succeeded} answered, ${event.failed} failed; answers stored`,
        );
        break;
      case 'left':
        batchLine(
          `left batch ${event.batchIds.join(', ')} pending at the provider; \`${resumeCommand()}\` polls it again and goes on`,
        );
        break;
    }
  };
}

/**
 * The exit code of a run: 130 stopped by Ctrl+C; 2 stopped because features kept failing, or features failed and
 * none was scored (features that never activate do not count as scored: a run whose every simulation was incomplete
 * is not healthy); 0 otherwise (a budget stop or batches left pending are expected ends; a few failed features are
 * reported on stderr).
 */
export function runExitCode(summary: Pick<RunSummary, 'stoppedBy' | 'failed' | 'scored'>): number {
  if (summary.stoppedBy === 'signal') return 130;
  if (summary.stoppedBy === 'failures' || (summary.failed > 0 && summary.scored === 0)) return 2;
  return 0;
}

/** Parses `--scorers a,b,c` (names are checked against the registry when the run starts); an empty list is a usage error. */
function scorersFlag(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) throw new UsageError(`--scorers expects scorer names separated by commas, got "${value}"`);
  return names;
}

/** Parses `--shard i/n` or `--shard auto`; a bad value is a one-line usage error (exit 2). */
function shardFlag(value: string): ShardSpec | 'auto' {
  if (value.trim() === 'auto') return 'auto';
  try {
    return parseShard(value);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function registerRunCommand(program: Command): void {
  const command = program
    .command('run')
    .description('explain, simulate and score every feature of a records source, store results, print the leaderboard')
    .option(
      '--records <path>',
      'feature records: .jsonl (native), NeuronRecord .json, or a {layer}/{neuron}.json directory',
    )
    .option('--demo', 'use the embedded demo dataset (the default when --records is not given)')
    .option('--model <name>', 'subject model name for records that do not carry one (NeuronRecord files)')
    .option('--name <name>', 'run name for leaderboards and compare')
    .addOption(
      new Option(
        '--simulation-mode <mode>',
        'simulation mode (default: the best the simulator serves; sampled for simulators without logprobs)',
      ).choices(['prompt-logprobs', 'chat-logprobs', 'sampled']),
    )
    .option('--simulation-samples <n>', 'answers averaged per simulation in sampled mode (default 5)', positiveInteger)
    .option(
      '--records-per-call <n|all>',
      "a feature's held-out records per simulation call: all (default; one prompt, as Anthropic's protocol) or N (1 = OpenAI's reference protocol); calls are split further where they would not fit the simulator's context",
      recordsPerCallFlag,
    )
    .option(
      '--context-tokens <n>',
      `the simulator's context window in tokens, the budget of each simulation call (default: data/context-windows.json, else ${DEFAULT_CONTEXT_TOKENS})`,
      positiveInteger,
    )
    .option('--explain-prompt <version>', `explain prompt version in prompts/ (default ${defaults.explainPrompt})`)
    .option('--simulate-prompt <version>', `simulate prompt version in prompts/ (default ${defaults.simulatePrompt})`)
    .option('--concurrency <n>', `features processed at once (default ${defaults.concurrency})`, positiveInteger)
    .option('--limit <n>', 'only the first N features', positiveInteger)
    .option(
      '--shard <i/n|auto>',
      'only shard i of n (0 ≤ i < n): features assigned by a hash of their key; combine the shard databases with `autointerp merge`. auto: i and n from a Slurm array job (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, n from --shards)',
      shardFlag,
    )
    .option(
      '--shards <n>',
      'with --shard auto: the number of shards (required in a Kubernetes Indexed Job)',
      positiveInteger,
    )
    .option(
      '--scorers <names>',
      'scorers to run, comma-separated (correlation, detection, fuzzing, ablation, intervention…; an unknown name lists every one), or all (the default); those that need the subject model say which features they could not serve',
      scorersFlag,
    )
    .option(
      '--judge <provider:model>',
      'the judge of the judged scorers (detection, fuzzing, intervention), as --simulator (default: the simulator)',
    )
    .option(
      '--no-ablation',
      'no ablation scores (default: computed where the subject model is available and records carry token ids)',
    )
    .option(
      '--subject-model <dir>',
      'a subject model folder for ablation scores, known by its folder name (repeatable; the embedded brown-1l is always known)',
      collect,
      [],
    )
    .option(
      '--sae <dir>',
      'an SAE folder (SAELens or sparsify layout) for ablation scores of its features, known by its folder name (repeatable; data/sae/* are known)',
      collect,
      [],
    )
    .option(
      '--explanations <n>',
      `best-of-n: n candidate explanations per feature, each simulated on the calibration split; the best is scored on the score split (default ${defaults.explanations}: one explanation)`,
      positiveInteger,
    )
    .option(
      '--revise <k>',
      `up to k revisions of the best explanation from its simulation's mistakes on calibration records, each kept only if it scores better there (default ${defaults.revise})`,
      nonNegativeInteger,
    )
    .option(
      '--score-all-candidates',
      'with --explanations: also simulate every losing candidate on the score split (measures the selection effect; costs a simulation per candidate)',
    )
    .option(
      '--explain-negatives <k>',
      `up to k contrast windows in the explain prompt: explain-split windows where the top tokens occur but the feature does not fire (default ${defaults.explainNegatives})`,
      nonNegativeInteger,
    )
    .option(
      '--calibration-top <n>',
      `held-out top records in the calibration split (default ${defaults.calibrationTop})`,
      nonNegativeInteger,
    )
    .option(
      '--calibration-random <n>',
      `held-out random records in the calibration split (default ${defaults.calibrationRandom})`,
      nonNegativeInteger,
    )
    .option('--resume <run>', 'resume an interrupted run (id, name, tag:NAME or latest) with its stored configuration')
    .option(
      '--batch',
      "send explain and simulate requests through the providers' Batch APIs (OpenAI Batch, Anthropic Message Batches): half the price, answers within 24 h; a run can be left and resumed while a batch is pending",
    )
    .option(
      '--no-batch',
      'on --resume of a batch run: finish it with live calls instead (batches still pending are abandoned)',
    )
    .option(
      '--batch-poll <seconds>',
      `batch mode: first interval between polls of a pending batch (default ${defaults.batchPollMs / 1000}; grows while nothing changes)`,
      positiveNumber,
    )
    .option(
      '--batch-wait <seconds>',
      'batch mode: leave pending batches after this long and exit, to --resume later (0: submit and exit; default: wait until they end)',
      nonNegativeNumber,
    )
    .addOption(databaseOption())
    .option('--json', 'print the leaderboard as JSON')
    .option('--no-progress', 'no progress bar');
  addReliabilityOptions(addProviderOptions(command)).action(async (options: RunOptions, self: Command) => {
    if (options.records && options.demo) throw new UsageError('use either --records or --demo, not both');
    if (options.shards !== undefined && options.shard !== 'auto')
      throw new UsageError('--shards goes with --shard auto (with --shard i/n the count is n)');
    let requestedShard: ShardSpec | undefined;
    if (options.shard === 'auto') {
      const { shardFromEnvironment } = await import('../pipeline/shard-from-environment.ts');
      const { index, count, source } = shardFromEnvironment(process.env, options.shards);
      requestedShard = { index, count };
      process.stderr.write(`--shard auto: shard ${formatShard(requestedShard)} from the ${source}\n`);
    } else requestedShard = options.shard;
    // Loaded when the command runs, so that `autointerp --help` and other commands start without the pipeline.
    const [
      { runPipeline },
      { resolveDatabasePath },
      { buildLeaderboard },
      { formatLeaderboardTable, leaderboardToJson },
      { resolveRun },
    ] = await Promise.all([
      import('../pipeline/run-pipeline.ts'),
      import('../store/database.ts'),
      import('../report/leaderboard.ts'),
      import('../report/format-leaderboard.ts'),
      import('../store/queries.ts'),
    ]);
    // A new run opens (and creates) the database only once its records are valid and its providers answer; a resume
    // needs the database to exist.
    const path = resolveDatabasePath(options.db);
    let opened: ReturnType<typeof openStore> | undefined;
    const openRunStore = () => (opened ??= openStore(options.db, { mustExist: options.resume !== undefined })).store;
    const stop = abortOnSignals({
      stopping: 'stopping after the features in flight…',
      forced: 'resume later with `autointerp run --resume <run>`',
    });
    try {
      let resumeRunId: number | undefined;
      let shard = requestedShard;
      if (options.resume) {
        const store = openRunStore();
        const run = resolveRun(store.db, options.resume);
        if (!run) throw new UsageError(`no run "${options.resume}" in ${path}`);
        resumeRunId = run.id;
        const stored = (JSON.parse(run.config) as { shard?: ShardSpec }).shard;
        if (requestedShard && (!stored || formatShard(stored) !== formatShard(requestedShard))) {
          throw new UsageError(
            `run ${run.id} is ${stored ? `shard ${formatShard(stored)}` : 'not a shard run'}; --resume keeps the stored shard (leave --shard out)`,
          );
        }
        shard = stored;
      }
      const overrides: OperationalOverrides = {
        ...reliabilityOverrides(options, self),
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        ...(options.batch !== undefined ? { batch: options.batch } : {}),
        ...(options.batchPoll !== undefined ? { batchPollMs: Math.round(options.batchPoll * 1000) } : {}),
        ...(options.batchWait !== undefined ? { batchMaxWaitMs: Math.round(options.batchWait * 1000) } : {}),
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      };
      const config: PipelineConfigInput = {
        source: options.records ?? DEMO_SOURCE,
        explainer: options.explainer,
        simulator: options.simulator,
        ...(options.model ? { model: options.model } : {}),
        ...(options.name ? { name: options.name } : {}),
        ...(options.simulationMode ? { simulationMode: options.simulationMode } : {}),
        ...(options.explainPrompt ? { explainPrompt: options.explainPrompt } : {}),
        ...(options.simulatePrompt ? { simulatePrompt: options.simulatePrompt } : {}),
        ...(options.simulationSamples ? { simulationSamples: options.simulationSamples } : {}),
        ...(options.recordsPerCall !== undefined ? { recordsPerCall: options.recordsPerCall } : {}),
        ...(options.contextTokens !== undefined ? { contextTokens: options.contextTokens } : {}),
        ...(options.limit ? { limit: options.limit } : {}),
        ...(options.explanations !== undefined ? { explanations: options.explanations } : {}),
        ...(options.revise !== undefined ? { revise: options.revise } : {}),
        ...(options.scoreAllCandidates ? { scoreAllCandidates: true } : {}),
        ...(options.explainNegatives !== undefined ? { explainNegatives: options.explainNegatives } : {}),
        ...(options.calibrationTop !== undefined ? { calibrationTop: options.calibrationTop } : {}),
        ...(options.calibrationRandom !== undefined ? { calibrationRandom: options.calibrationRandom } : {}),
        ...(requestedShard ? { shard: requestedShard } : {}),
        ablation: options.ablation,
        ...(options.scorers ? { scorers: options.scorers } : {}),
        ...(options.judge ? { judge: options.judge } : {}),
        ...(options.subjectModel?.length
          ? { subjectModels: options.subjectModel.map((folder) => resolve(folder)) }
          : {}),
        ...(options.sae?.length ? { saes: options.sae.map((folder) => resolve(folder)) } : {}),
        ...overrides,
      };
      const progress = options.progress ? createRunProgress('autointerp') : null;
      let startedRunId: number | undefined;
      const resumeCommand = () =>
        `autointerp run --resume ${startedRunId ?? '<run>'}${options.db ? ` --db ${options.db}` : ''}`;
      const summary = await runPipeline(config, {
        store: openRunStore,
        ...(resumeRunId !== undefined ? { resumeRunId, overrides } : {}),
        stopSignal: stop.signal,
        events: {
          onStart({ runId, total, alreadyDone, explainer, simulator, scorers, judge }) {
            startedRunId = runId;
            const labels =
              [explainer, simulator, ...(judge ? [judge] : [])].filter((p) => p.isBaseline).length > 0
                ? ' [BASELINE: offline rule-based, not an LLM]'
                : '';
            process.stderr.write(
              `run ${runId}${resumeRunId !== undefined ? ' (resumed)' : ''}: ${total} features${shard ? ` (shard ${formatShard(shard)})` : ''}${alreadyDone ? `, ${alreadyDone} already done` : ''} · explainer ${escapeTerminalText(explainer.id)} · simulator ${escapeTerminalText(simulator.id)}${judge && judge !== simulator ? ` · judge ${escapeTerminalText(judge.id)}` : ''} · scorers ${escapeTerminalText(scorers.join(','))}${labels} · db ${path}\n`,
            );
            progress?.start(total, alreadyDone);
          },
          onFeatureDone(processed) {
            progress?.increment(processed.result.status);
          },
          onCall(event) {
            if (event.phase === 'start') progress?.callStarted();
            else progress?.callEnded(event.call);
          },
          onBatch: reportBatchEvents(progress, resumeCommand),
        },
      }).catch((error: unknown) => {
        progress?.stop();
        // A run another process holds, a provider without its key or server (InputErrors): one line, exit 2, nothing written.
        throw error;
      });
      progress?.stop();
      const money = `spent ${formatUsd(summary.costUsd)}${summary.unpricedCalls > 0 ? ` (+${summary.unpricedCalls} unpriced calls)` : ''}${summary.maxCostUsd !== undefined ? ` of ${formatUsd(summary.maxCostUsd)}` : ''}`;
      process.stderr.write(
        `run ${summary.runId} ${summary.status}: ${summary.scored} scored, ${summary.skipped} skipped, ${summary.failed} failed of ${summary.total} in ${(summary.durationMs / 1000).toFixed(1)} s · ${money}${summary.remaining > 0 ? ` · ${summary.remaining} left to do` : ''}\n`,
      );
      if (summary.selection) {
        const { selection } = summary;
        process.stderr.write(
          `best-of-n: ${selection.candidatesPerFeature.toFixed(1)} candidates per feature · winners' correlation ${selection.meanCalibration.toFixed(3)} on calibration (chosen there), ${selection.meanHeldOut.toFixed(3)} held out · selection bias ${selection.selectionBias >= 0 ? '+' : ''}${selection.selectionBias.toFixed(3)} (${selection.features} features)\n`,
        );
      }
      for (const note of summary.notes ?? []) process.stderr.write(`note: ${escapeTerminalText(note)}\n`);
      if (summary.stoppedBy === 'budget') {
        process.stderr.write(
          `budget reached: no new feature started once the run had spent ${formatUsd(summary.maxCostUsd ?? 0)}\n`,
        );
      }
      if (summary.stoppedBy === 'batch-pending') {
        process.stderr.write('batches are still pending at the provider; nothing is lost by leaving now\n');
      }
      if (summary.stoppedBy === 'failures') {
        process.stderr.write(
          `stopped: the last features all failed; last reason: ${escapeTerminalText(summary.lastFailure ?? 'unknown')}\n`,
        );
      } else if (summary.failed > 0) {
        process.stderr.write(
          `${summary.failed} feature(s) failed; last reason: ${escapeTerminalText(summary.lastFailure ?? 'see run_features.reason')}\n`,
        );
      }
      if (summary.status === 'interrupted' || summary.failed > 0) {
        const budgetHint = summary.stoppedBy === 'budget' ? ' --max-cost <more>' : '';
        const what = summary.status === 'interrupted' ? 'resume' : 'retry the failed features';
        process.stderr.write(
          `${what} with: autointerp run --resume ${summary.runId}${budgetHint}${options.db ? ` --db ${options.db}` : ''}\n`,
        );
      }
      const store = openRunStore();
      const board = buildLeaderboard(store.db, store.getRun(summary.runId)!);
      const width = terminalWidth(process.stdout);
      process.stdout.write(
        options.json
          ? `${jsonWithoutRawControls(JSON.stringify(leaderboardToJson(board), null, 2))}\n`
          : `${formatLeaderboardTable(board, width === undefined ? {} : { width })}\n`,
      );
      if (!options.records && !options.json)
        process.stderr.write(
          `browse these results: autointerp serve${path === 'autointerp.db' ? '' : ` --db ${JSON.stringify(path)}`}, then open http://127.0.0.1:8321/\n`,
        );
      const exitCode = runExitCode(summary);
      if (exitCode !== 0) process.exitCode = exitCode;
    } finally {
      stop.dispose();
      opened?.close();
    }
  });
}
