/**
 * @module pipeline/config — one config type: it is the CLI flags of `autointerp run` and the JSON saved with each
 * run (no secrets: API keys come from the environment only), so `run --resume` continues with exactly it.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEMO_SOURCE, pipelineConfigDefaults as defaults } from './config-defaults.ts';
import { operationalConfigKeys } from '../store/operational-config-keys.ts';
import { InputError } from '../common/errors.ts';

/** The demo source: a directory of JSONL shards (planted features, and real neurons of the embedded model). */
export const demoRecordsPath = fileURLToPath(new URL('../../data/demo/records/', import.meta.url));
/** The planted features alone (their ground truth is data/demo/ground-truth.json). */
export const demoPlantedPath = fileURLToPath(new URL('../../data/demo/records/planted.jsonl', import.meta.url));

export const PipelineConfigSchema = z.object({
  /** Records file or directory (JSONL, NeuronRecord JSON or a {layer}/{neuron}.json tree), or "demo". */
  source: z.string().min(1).default(defaults.source),
  /** Subject model name for sources that do not carry one (NeuronRecord files). */
  model: z.string().min(1).default(defaults.model),
  /** Run name shown in leaderboards (default: derived from source and models). */
  name: z.string().min(1).optional(),
  /** Explainer as provider:model — `baseline` (offline), `openai:<model>`, `openai-compatible:<model>`. */
  explainer: z.string().min(1).default(defaults.explainer),
  /** Simulator as provider:model. */
  simulator: z.string().min(1).default(defaults.simulator),
  /** Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama…), for openai-compatible providers. */
  baseUrl: z.string().url().optional(),
  explainPrompt: z.string().default(defaults.explainPrompt),
  simulatePrompt: z.string().default(defaults.simulatePrompt),
  /** Simulation mode; default: the best the simulator serves (prompt-logprobs, else chat-logprobs, else sampled). */
  simulationMode: z.enum(['prompt-logprobs', 'chat-logprobs', 'sampled']).optional(),
  /** Samples averaged per simulation in `sampled` mode (simulators without logprobs). Default 5. */
  simulationSamples: z.number().int().positive().optional(),
  /**
   * The simulation protocol: a feature's held-out records per simulation call (`--records-per-call N|all`). `all`
   * (default) puts them in one prompt, as Anthropic's protocol and this project's stored results do; 1 is OpenAI's
   * reference protocol, one record a prompt. Either way no call is larger than the simulator's context: records
   * that do not fit are split over more calls. Stored with every score; leaderboards never pool protocols.
   */
  recordsPerCall: z.union([z.number().int().positive(), z.literal('all')]).default(defaults.recordsPerCall),
  /**
   * The simulator's context window in tokens (`--context-tokens`), the budget of each simulation call. Default: the
   * model's entry in data/context-windows.json, else a conservative 8,192.
   */
  contextTokens: z.number().int().positive().optional(),
  /** Top records shown to the explainer. */
  explainTop: z.number().int().positive().default(defaults.explainTop),
  /** Held-out top / random records scored. */
  scoreTop: z.number().int().nonnegative().default(defaults.scoreTop),
  scoreRandom: z.number().int().nonnegative().default(defaults.scoreRandom),
  /** Held-out records for the linear calibration (simulated in the same call as the score records). */
  calibrationTop: z.number().int().nonnegative().default(defaults.calibrationTop),
  calibrationRandom: z.number().int().nonnegative().default(defaults.calibrationRandom),
  /** Records scored from each quantile bin, where the source has quantile samples (`correlation.quantiles`). */
  scorePerQuantile: z.number().int().nonnegative().default(defaults.scorePerQuantile),
  /**
   * Best-of-n explanations (`--explanations N`, pipeline/explanation-search.ts): N candidates per feature, each
   * simulated on the calibration split; the best is kept and scored on the score split. 1 = one explanation, as before.
   */
  explanations: z.number().int().positive().default(defaults.explanations),
  /** Revisions of the best candidate from its simulation's mistakes on calibration records (`--revise K`). */
  revise: z.number().int().nonnegative().default(defaults.revise),
  /** Also simulate every losing candidate on the score split (`--score-all-candidates`): measures the selection effect. */
  scoreAllCandidates: z.boolean().default(defaults.scoreAllCandidates),
  /**
   * Contrast windows in the explain prompt (`--explain-negatives K`, explain/contrast-windows.ts): up to K windows of
   * the explain split where the feature's top tokens occur but it does not fire. 0 = none, as before.
   */
  explainNegatives: z.number().int().nonnegative().default(defaults.explainNegatives),
  /** Token budget of the explain prompt (few-shot examples, then records, are dropped past it). */
  maxPromptTokens: z.number().int().positive().default(defaults.maxPromptTokens),
  /** Features processed at once. */
  concurrency: z.number().int().positive().default(defaults.concurrency),
  /** Only the first N features of the source (handy for a trial run). */
  limit: z.number().int().positive().optional(),
  /**
   * Only the features of shard `index` of `count` (`--shard i/n`): a feature belongs to the shard
   * `shardOfFeature(featureKey, count)`, a hash of its key, so the n shards partition the source (after `limit`)
   * whatever its order or size. Shard databases are combined with `autointerp merge`.
   */
  shard: z
    .object({ index: z.number().int().nonnegative(), count: z.number().int().positive() })
    .refine((shard) => shard.index < shard.count, { message: 'shard index must be below the shard count' })
    .optional(),
  /**
   * The scorers to run (`--scorers a,b`; `all`): names of score/registry.ts. Default: every registered scorer
   * (pipeline/select-scorers.ts). A new run stores the names it selected, so `run --resume` keeps them.
   */
  scorers: z.array(z.string().min(1)).optional(),
  /** The judge of the judged scorers (detection, fuzzing, intervention) as provider:model (`--judge`). Default: the simulator. */
  judge: z.string().min(1).optional(),
  /**
   * Ablation scores (`ablation.all`) through the subject model, for features whose model (and SAE) is available and
   * whose records carry token ids: on by default (`--no-ablation` turns it off).
   */
  ablation: z.boolean().default(defaults.ablation),
  /** Subject model folders for ablation beyond the embedded brown-1l (`--subject-model`; known by folder name). */
  subjectModels: z.array(z.string().min(1)).default(defaults.subjectModels),
  /** SAE folders (SAELens or sparsify layout) for ablation beyond the embedded data/sae/* (`--sae`; known by folder name). */
  saes: z.array(z.string().min(1)).default(defaults.saes),

  // Reliability (docs/DESIGN.md §6). These change how a run is executed, not its results: `--resume` may override them.
  /** Request starts per minute, explainer and simulator on one API together. Default: unlimited. */
  requestsPerMinute: z.number().positive().optional(),
  /** Prompt + completion tokens per minute (estimated before a call, corrected by the usage after). */
  tokensPerMinute: z.number().positive().optional(),
  /** The rate window in milliseconds (60 000 = per minute; tests shorten it). */
  rateWindowMs: z.number().int().positive().default(defaults.rateWindowMs),
  /** LLM requests in flight at once, per API. Default: bounded by `concurrency` features only. */
  requestConcurrency: z.number().int().positive().optional(),
  /** Attempts per LLM call (first included) on 429, 5xx, timeouts, connection resets, unparsable bodies. */
  maxAttempts: z.number().int().positive().default(defaults.maxAttempts),
  /** First backoff cap in milliseconds (doubled per retry, full jitter; Retry-After wins when longer). */
  retryBaseDelayMs: z.number().nonnegative().default(defaults.retryBaseDelayMs),
  /** Timeout of one HTTP request in milliseconds (a hung server counts as a retryable failure). */
  requestTimeoutMs: z.number().int().positive().default(defaults.requestTimeoutMs),
  /** Fresh simulation attempts when an answer is malformed (no logprobs, no values) before the feature fails. */
  answerAttempts: z.number().int().positive().default(defaults.answerAttempts),
  /** Response cache in the database (`--no-cache` turns it off). The offline baseline is never cached. */
  cache: z.boolean().default(defaults.cache),
  /** Budget in USD: no new feature starts once the run has spent it (`--max-cost`). */
  maxCostUsd: z.number().nonnegative().optional(),
  /** Price table merged over data/prices.json (`--prices FILE`). */
  prices: z.string().min(1).optional(),
  /** Seed of the retry jitter. */
  seed: z.number().int().default(defaults.seed),
  /**
   * Send explain and simulate requests through the providers' Batch APIs (`--batch`: OpenAI Batch, Anthropic Message
   * Batches; half the price, answers within 24 h) instead of live calls. Same results, same tables.
   */
  batch: z.boolean().default(defaults.batch),
  /** First interval between polls of a pending batch, in milliseconds (grows ×1.5 up to 10× while nothing changes). */
  batchPollMs: z.number().positive().default(defaults.batchPollMs),
  /**
   * How long one invocation waits on pending batches before leaving them for `--resume`. Default: until they end.
   * Per invocation: a resume does not inherit it.
   */
  batchMaxWaitMs: z.number().nonnegative().optional(),
});
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;

// The options with a default are exactly the keys of pipeline/config-defaults.ts, with values of their types (an option
// that gains or loses a default, or is renamed, fails to compile here).
type DefaultedKey = {
  [K in keyof PipelineConfig]-?: undefined extends PipelineConfig[K] ? never : K;
}[keyof PipelineConfig];
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies SameKeys<DefaultedKey, keyof typeof defaults>;
defaults satisfies Pick<PipelineConfig, DefaultedKey>;

/** Options a resumed run may change (they affect execution, not results): store/operational-config-keys.ts. */
type OperationalConfigKey = (typeof operationalConfigKeys)[number] & keyof PipelineConfig;
export type OperationalOverrides = Partial<Pick<PipelineConfig, OperationalConfigKey>>;
// Every operational key is a key of the config (a renamed option fails to compile here).
operationalConfigKeys satisfies readonly (keyof PipelineConfig)[];

/** Validates a config, filling defaults; throws a one-line error naming the bad option. */
export function parsePipelineConfig(input: PipelineConfigInput): PipelineConfig {
  const parsed = PipelineConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`invalid option ${issue.path.join('.') || '(config)'}: ${issue.message}`);
  }
  const searching = parsed.data.explanations > 1 || parsed.data.revise > 0;
  if (searching && parsed.data.calibrationTop + parsed.data.calibrationRandom === 0) {
    throw new InputError(
      '--explanations and --revise select on the calibration split: give it records (--calibration-top, --calibration-random)',
    );
  }
  return parsed.data;
}

/** The records path a config reads. */
export const resolveSource = (config: PipelineConfig): string =>
  config.source === DEMO_SOURCE ? demoRecordsPath : config.source;
