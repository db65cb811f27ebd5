/**
 * @module cli/steer — `autointerp steer`: clamps a neuron or an SAE latent of a subject model to a value at every
 * position and prints the prompt's continuation without and with the clamp, the most likely next tokens at the
 * prompt's end both ways, and how the log-probabilities of the tokens the feature's direction promotes most (its
 * direct logit effect) change. Exit codes: 0 done, 2 usage or data error.
 */
import { type Command, Option } from 'commander';
import type { SparseAutoencoder } from '../sae/sae-model.ts';
import type { BackendPreference } from '../subject/backend.ts';
import type { SubjectModel } from '../subject/load-subject.ts';
import type { SteerTarget } from '../subject/steer.ts';
import { UsageError } from './errors.ts';
import { defaultModelDir } from './extract.ts';
import { nonNegativeNumber, positiveInteger } from './shared-options.ts';

/** `--feature` as written: a neuron (hook null: the last layer's `mlp.hook_post`) or a latent of the `--sae` SAE. */
export type FeatureSpec = { kind: 'neuron'; hook: string | null; index: number } | { kind: 'sae'; index: number };

interface SteerFlags {
  model: string;
  feature: string;
  sae?: string;
  value: number;
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed: number;
  json?: boolean;
  backend: BackendPreference;
  verbose?: boolean;
}

/** A token id with its display string. */
interface TokenRow {
  id: number;
  token: string;
}

/** What `steer` prints: the `--json` object, and the source of the text output. */
export interface SteerResult {
  model: string;
  feature: { kind: 'neuron' | 'sae'; hook: string; index: number; sae?: string };
  /** The clamp value, raw activation units. */
  value: number;
  prompt: string;
  /** The prompt's token ids as the model saw them (`<|endoftext|>` first when the tokenizer has it). */
  promptTokenIds: number[];
  temperature: number;
  seed: number;
  maxTokens: number;
  /** The continuation (new tokens only) without and with the clamp. */
  generations: Record<'original' | 'clamped', { text: string; tokenIds: number[] }>;
  /** The most likely next tokens after the prompt, without and with the clamp. */
  nextToken: Record<'original' | 'clamped', (TokenRow & { probability: number })[]>;
  /** Tokens with the largest direct logit effect and their next-token log-probabilities (nats); null at mlp.hook_pre. */
  promoted: (TokenRow & { directEffect: number; logProbOriginal: number; logProbClamped: number })[] | null;
}

/** `--backend` values (as subject/backend.ts's backendPreferences; typed here so that the CLI loads tfjs lazily). */
const backendChoices: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];
/** Rows of the next-token and promoted-token tables. */
const topCount = 5;

/** The library parts, imported when the command runs (tfjs costs every other command's start-up time otherwise). */
async function loadLibrary() {
  const [backend, loadSubject, saeFormats, saeModel, generate, steer] = await Promise.all([
    import('../subject/backend.ts'),
    import('../subject/load-subject.ts'),
    import('../sae/formats.ts'),
    import('../sae/sae-model.ts'),
    import('../subject/generate.ts'),
    import('../subject/steer.ts'),
  ]);
  return { ...backend, ...loadSubject, ...saeFormats, ...saeModel, ...generate, ...steer };
}

/** Parses `neuron:<hook>:<index>`, `<index>` or `sae:<index>`. */
export function parseFeatureSpec(spec: string): FeatureSpec {
  const bare = /^(\d+)$/.exec(spec);
  if (bare) return { kind: 'neuron', hook: null, index: Number(bare[1]) };
  const sae = /^sae:(\d+)$/.exec(spec);
  if (sae) return { kind: 'sae', index: Number(sae[1]) };
  const neuron = /^neuron:(.+):(\d+)$/.exec(spec);
  if (neuron) return { kind: 'neuron', hook: neuron[1]!, index: Number(neuron[2]) };
  throw new UsageError(
    `--feature: expected neuron:<hook>:<index>, <index> (a neuron of the last MLP) or sae:<index> (with --sae), got "${spec}"`,
  );
}

/** Parses `--value`: any finite number. */
function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--value: expected a number, got "${value}"`);
  return n;
}

/** Parses `--seed`: a non-negative integer. */
function seedValue(value: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0)) throw new UsageError(`--seed: expected a non-negative integer, got "${value}"`);
  return n;
}

/** Indices of the `count` largest values, largest first. */
function topIndices(values: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b]! - values[a]! || a - b)
    .slice(0, count);
}

/** Columns padded to their widest cell: those in `leftColumns` aligned left (tokens), the others right (numbers). */
function formatTable(header: string[], rows: string[][], leftColumns: readonly number[]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        leftColumns.includes(column) ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ');
  return [header, ...rows].map((row) => `  ${line(row)}`).join('\n');
}

type Library = Awaited<ReturnType<typeof loadLibrary>>;

/** Generates with and without the clamp and reads the next-token distributions; the target is already checked. */
function steerSubject(library: Library, subject: SubjectModel, target: SteerTarget, flags: SteerFlags): SteerResult {
  const { clampHooks, directLogitEffect, generate, nextTokenLogProbs } = library;
  const { model, tokenizer } = subject;
  const promptIds = [...(tokenizer.eosId !== null ? [tokenizer.eosId] : []), ...tokenizer.encode(flags.prompt)];
  if (promptIds.length === 0)
    throw new UsageError('--prompt: the prompt has no tokens and the tokenizer has no <|endoftext|> to start with');
  if (promptIds.length > subject.config.nPositions) {
    process.stderr.write(
      `note: the prompt has ${promptIds.length} tokens; the model sees the last ${subject.config.nPositions}\n`,
    );
  }
  const hooks = clampHooks(target, flags.value);
  const generation = {
    maxNewTokens: flags.maxTokens,
    temperature: flags.temperature,
    seed: flags.seed,
    stopTokenIds: tokenizer.eosId !== null ? [tokenizer.eosId] : [],
  };
  const generated = {
    original: generate(model, promptIds, generation),
    clamped: generate(model, promptIds, { ...generation, hooks }),
  };
  const logProbs = {
    original: nextTokenLogProbs(model, promptIds),
    clamped: nextTokenLogProbs(model, promptIds, hooks),
  };
  const effect = directLogitEffect(model, target);

  const row = (id: number): TokenRow => ({ id, token: tokenizer.tokenStrings([id])[0]! });
  const text = (which: 'original' | 'clamped') => ({
    text: tokenizer.decode(generated[which]),
    tokenIds: generated[which],
  });
  const nextToken = (which: 'original' | 'clamped') =>
    topIndices(logProbs[which], topCount).map((id) => ({ ...row(id), probability: Math.exp(logProbs[which][id]!) }));
  return {
    model: subject.name,
    feature:
      target.kind === 'neuron'
        ? { kind: 'neuron', hook: target.hook, index: target.index }
        : { kind: 'sae', hook: target.sae.config.hookName, index: target.index, sae: flags.sae! },
    value: flags.value,
    prompt: flags.prompt,
    promptTokenIds: promptIds,
    temperature: flags.temperature,
    seed: flags.seed,
    maxTokens: flags.maxTokens,
    generations: { original: text('original'), clamped: text('clamped') },
    nextToken: { original: nextToken('original'), clamped: nextToken('clamped') },
    promoted:
      effect &&
      topIndices(effect, topCount).map((id) => ({
        ...row(id),
        directEffect: effect[id]!,
        logProbOriginal: logProbs.original[id]!,
        logProbClamped: logProbs.clamped[id]!,
      })),
  };
}

/** The text output: both continuations, the next-token tables, the promoted tokens. */
export function formatSteerResult(result: SteerResult): string {
  const { feature } = result;
  const name =
    feature.kind === 'neuron'
      ? `neuron ${feature.hook}:${feature.index}`
      : `SAE latent ${feature.index} of ${feature.sae} at ${feature.hook}`;
  const sampling = result.temperature === 0 ? 'greedy' : `temperature ${result.temperature}, seed ${result.seed}`;
  const lines = [
    `${result.model}: ${name} clamped to ${result.value} at every position; ${sampling}, up to ${result.maxTokens} tokens`,
    `prompt:        ${JSON.stringify(result.prompt)}`,
    `without clamp: ${JSON.stringify(result.generations.original.text)}`,
    `with clamp:    ${JSON.stringify(result.generations.clamped.text)}`,
    '',
    'next token after the prompt:',
    formatTable(
      ['without clamp', 'p', 'with clamp', 'p'],
      result.nextToken.original.map((before, rank) => {
        const after = result.nextToken.clamped[rank]!;
        return [
          JSON.stringify(before.token),
          before.probability.toFixed(3),
          JSON.stringify(after.token),
          after.probability.toFixed(3),
        ];
      }),
      [0, 2],
    ),
  ];
  if (result.promoted) {
    lines.push(
      '',
      'tokens the feature promotes most (direct logit effect) and their next-token log p:',
      formatTable(
        ['token', 'effect', 'without', 'with', 'change'],
        result.promoted.map((p) => {
          const change = p.logProbClamped - p.logProbOriginal;
          return [
            JSON.stringify(p.token),
            p.directEffect.toFixed(3),
            p.logProbOriginal.toFixed(2),
            p.logProbClamped.toFixed(2),
            `${change >= 0 ? '+' : ''}${change.toFixed(2)}`,
          ];
        }),
        [0],
      ),
    );
  }
  return lines.join('\n');
}

export function registerSteerCommand(program: Command): void {
  program
    .command('steer')
    .description(
      'clamp a neuron or SAE latent to a value while generating, and print the text with and without the clamp',
    )
    .addOption(
      new Option('--model <dir>', 'subject model folder: config.json, model.safetensors, tokenizer.json').default(
        defaultModelDir,
        'the embedded data/subject/brown-1l',
      ),
    )
    .requiredOption(
      '--feature <spec>',
      'neuron:<hook>:<index>, <index> (a neuron at the last blocks.{L}.mlp.hook_post), or sae:<index> with --sae',
    )
    .option(
      '--sae <dir>',
      'SAE folder of the latent in --feature sae:<index>: SAELens (cfg.json, sae_weights.safetensors) or sparsify (cfg.json, sae.safetensors)',
    )
    .requiredOption(
      '--value <number>',
      'the value the feature is clamped to at every position (raw activation units)',
      finiteNumber,
    )
    .requiredOption('--prompt <text>', 'the text to continue (<|endoftext|> is put first, as in training)')
    .option('--max-tokens <n>', 'tokens to generate (fewer when <|endoftext|> comes)', positiveInteger, 20)
    .option('--temperature <t>', 'sampling temperature; 0 is greedy', nonNegativeNumber, 0)
    .option('--seed <n>', 'seed of the sampler (both generations use it)', seedValue, 0)
    .option('--json', 'print one JSON object instead of text')
    .addOption(new Option('--backend <name>', 'tfjs backend').choices([...backendChoices]).default('auto'))
    .option('--verbose', 'say why faster tfjs backends are absent, with their errors')
    .action(async (flags: SteerFlags) => {
      const spec = parseFeatureSpec(flags.feature);
      if (spec.kind === 'sae' && !flags.sae)
        throw new UsageError('--feature sae:<index> needs --sae <dir>, the SAE folder');
      if (spec.kind === 'neuron' && flags.sae)
        throw new UsageError(`--sae is given but --feature ${flags.feature} names a neuron; write sae:<index>`);
      const library = await loadLibrary();
      const { initBackend, describeBackendChoice, loadSubjectModel, loadSaeFolder, checkSteerTarget } = library;
      const backend = await initBackend(flags.backend);
      process.stderr.write(`${describeBackendChoice(backend, flags.verbose)}\n`);
      const subject = await loadSubjectModel(flags.model);
      let sae: SparseAutoencoder | null = null;
      try {
        if (spec.kind === 'sae') {
          const loaded = await loadSaeFolder(flags.sae!);
          for (const warning of loaded.warnings) process.stderr.write(`sae: ${warning}\n`);
          // sparsify folders do not name their model ("unknown"): nothing to compare.
          if (loaded.config.modelName !== subject.name && loaded.config.modelName !== 'unknown')
            process.stderr.write(`warning: the SAE was trained on "${loaded.config.modelName}", not ${subject.name}\n`);
          sae = library.SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
        }
        const target: SteerTarget = sae
          ? { kind: 'sae', sae, index: spec.index }
          : {
              kind: 'neuron',
              hook: (spec.kind === 'neuron' && spec.hook) || `blocks.${subject.config.nLayer - 1}.mlp.hook_post`,
              index: spec.index,
            };
        checkSteerTarget(subject.model, target);
        const result = steerSubject(library, subject, target, flags);
        process.stdout.write(`${flags.json ? JSON.stringify(result) : formatSteerResult(result)}\n`);
      } finally {
        sae?.dispose();
        subject.model.dispose();
      }
    });
}
