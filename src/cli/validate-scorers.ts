/**
 * @module cli/validate-scorers — `autointerp validate-scorers`: is each scorer valid? On features whose truth is
 * known (the demo's planted features, the POS-labelled brown-1l features, the tokens those features make brown-1l
 * write (`brown-1l-outputs`), OpenAI's puzzles from `--puzzles PATH`),
 * scores the true explanation and wrong ones with every selected scorer and prints, per scorer and truth source, the
 * AUROC of true against wrong, how often the true explanation ranks first, and calls and tokens per explanation
 * scored (what a run spends per feature).
 * Nothing is stored. Exit codes: 0 done, 2 usage or data error.
 */
import type { Command } from 'commander';
import { pipelineConfigDefaults as defaults } from '../pipeline/config-defaults.ts';
import type { ValidationReport } from '../pipeline/validate-scorers.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';
import { UsageError } from './errors.ts';
import { addSimulationCallOptions, positiveInteger, positiveNumber } from './shared-options.ts';

const TRUTH_SOURCES = ['planted', 'brown-1l', 'brown-1l-outputs', 'puzzles'] as const;
type TruthSource = (typeof TRUTH_SOURCES)[number];

interface ValidateScorersFlags {
  truth?: string;
  puzzles?: string;
  scorers: string;
  simulator: string;
  judge?: string;
  baseUrl?: string;
  simulatePrompt: string;
  recordsPerCall?: number | 'all';
  contextTokens?: number;
  features?: number;
  otherFeatures: number;
  concurrency: number;
  seed: number;
  rpm?: number;
  maxAttempts?: number;
  requestTimeoutMs?: number;
  json?: boolean;
  progress: boolean;
  subjectModels: boolean;
}

/** A comma-separated list of names, each one of `known` (errors name `flag`). */
export function parseNameList<T extends string>(value: string, known: readonly T[], flag: string): T[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) throw new UsageError(`${flag}: give at least one of ${known.join(', ')}`);
  for (const name of names) {
    if (!(known as readonly string[]).includes(name))
      throw new UsageError(`${flag}: unknown "${name}"; known: ${known.join(', ')}`);
  }
  return [...new Set(names)] as T[];
}

const formatRate = (value: number | null) => (value === null ? '–' : value.toFixed(3));
const formatCount = (value: number | null) =>
  value === null ? '–' : value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);

/** The first two of a scorer's notes, and how many more there were. */
function summarizeNotes(notes: readonly string[]): string {
  if (notes.length === 0) return 'no reason given';
  const shown = notes.slice(0, 2).join('; ');
  return notes.length > 2 ? `${shown}; and ${notes.length - 2} more` : shown;
}

/** The benchmark's table (a Markdown table, as the README shows it) and the lines that say who scored and what was not served. */
export function formatValidationTable(report: ValidationReport): string {
  const baselineNote = report.baseline ? ' (BASELINE: offline rule-based, not an LLM)' : '';
  const lines = [
    `simulator ${report.simulator}, judge ${report.judge}${baselineNote}`,
    '',
    '| scorer (score) | truth | features | AUROC | mean AUROC per feature | true ranks first | calls / explanation | prompt tokens / explanation | completion tokens / explanation |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of report.rows) {
    const served =
      row.features === row.featuresOfSource ? String(row.features) : `${row.features} of ${row.featuresOfSource}`;
    lines.push(
      `| ${row.scorer} (${row.kind}) | ${row.source} | ${served} | ${formatRate(row.pooledAuroc)} | ${formatRate(row.meanFeatureAuroc)} | ${row.trueFirstRate === null ? '–' : `${Math.round(row.trueFirstRate * 100)} %`} | ${formatCount(row.callsPerExplanation)} | ${formatCount(row.promptTokensPerExplanation)} | ${formatCount(row.completionTokensPerExplanation)} |`,
    );
  }
  for (const row of report.rows) {
    if (row.features < row.featuresOfSource) {
      lines.push(
        `${row.scorer} could not serve ${row.featuresOfSource - row.features} ${row.source} feature(s): ${summarizeNotes(row.notServed)}`,
      );
    }
    if (row.unscored > 0) {
      lines.push(
        `${row.scorer} on ${row.source}: ${row.unscored} explanation(s) without a value (ranked below every number; --json lists the reasons)`,
      );
    }
  }
  return `${lines.map(escapeTerminalText).join('\n')}\n`;
}

export function registerValidateScorersCommand(program: Command): void {
  addSimulationCallOptions(
    program
      .command('validate-scorers')
      .description(
        'is each scorer valid? AUROC of true against wrong explanations on features of known truth (planted, POS-labelled brown-1l, brown-1l output tokens, OpenAI puzzles)',
      )
      .option(
        '--truth <list>',
        `truth sources: ${TRUTH_SOURCES.join(', ')} (default planted,brown-1l, and puzzles when --puzzles is given)`,
      )
      .option(
        '--puzzles <path>',
        "OpenAI's puzzles.json (openai/automated-interpretability, neuron-explainer/neuron_explainer/explanations/puzzles.json)",
      )
      .option('--scorers <list>', 'scorers of the registry to validate, or all', 'all')
      .option(
        '--simulator <provider:model>',
        'simulator of scorers that need the simulation: baseline (offline), openai:<model>, openai-compatible:<model>, anthropic:<model>',
        defaults.simulator,
      )
      .option('--judge <provider:model>', 'judge of judged scorers (default: the simulator)'),
  )
    .option('--features <n>', 'only the first N features of each truth source', positiveInteger)
    .option(
      '--other-features <n>',
      "other features' true explanations scored as wrong ones, per feature",
      positiveInteger,
      3,
    )
    .option('--concurrency <n>', 'features scored at once', positiveInteger, defaults.concurrency)
    .option(
      '--seed <n>',
      'seed of example sampling and of the choice of wrong explanations',
      positiveInteger,
      defaults.seed,
    )
    .option('--rpm <n>', 'requests per minute to each API (default: unlimited)', positiveNumber)
    .option('--max-attempts <n>', `attempts per LLM call (default ${defaults.maxAttempts})`, positiveInteger)
    .option(
      '--request-timeout-ms <n>',
      `timeout of one LLM request (default ${defaults.requestTimeoutMs})`,
      positiveInteger,
    )
    .option(
      '--no-subject-models',
      'load no subject model: scorers that run the model (ablation, intervention) are shown as not served',
    )
    .option('--no-progress', 'no progress lines on stderr')
    .option('--json', 'print JSON: the table rows and every scored explanation')
    .action(async (flags: ValidateScorersFlags) => {
      // Loaded when the command runs, so that `autointerp --help` and other commands start without them.
      const [
        { scorers: registered, scorerNamed },
        { loadTruthCases },
        { validateScorers },
        { parsePipelineConfig },
        { buildProviders },
        { loadSimulateTemplate },
        { contextTokensOf },
        { getEncoder },
        { createFeatureModels },
        { preflightProviders },
      ] = await Promise.all([
        import('../score/registry.ts'),
        import('../pipeline/validate-scorers-truth.ts'),
        import('../pipeline/validate-scorers.ts'),
        import('../pipeline/config.ts'),
        import('../pipeline/build-providers.ts'),
        import('../simulate/simulate-template.ts'),
        import('../llm/context-windows.ts'),
        import('../llm/token-counter.ts'),
        import('../pipeline/feature-models.ts'),
        import('../llm/provider-preflight.ts'),
      ]);
      const sources: TruthSource[] = flags.truth
        ? parseNameList(flags.truth, TRUTH_SOURCES, '--truth')
        : ['planted', 'brown-1l', ...(flags.puzzles ? (['puzzles'] as const) : [])];
      if (sources.includes('puzzles') && !flags.puzzles) {
        throw new UsageError('--truth puzzles needs the puzzles file: --puzzles PATH (see data/puzzles/README.md)');
      }
      if (sources.includes('brown-1l-outputs') && !flags.subjectModels) {
        throw new UsageError(
          '--truth brown-1l-outputs runs the subject model to find what each feature makes it write: drop --no-subject-models',
        );
      }
      const names = registered.map((scorer) => scorer.name);
      const selected =
        flags.scorers.trim() === 'all'
          ? registered
          : parseNameList(flags.scorers, names, '--scorers').map((name) => scorerNamed(name)!);

      // The same construction as `run`: retry and limits (one limiter per API), the judge defaulting to the simulator
      // (the same provider); every provider answers before the first feature (llm/provider-preflight).
      const config = parsePipelineConfig({
        explainer: flags.simulator,
        simulator: flags.simulator,
        ...(flags.judge ? { judge: flags.judge } : {}),
        ...(flags.baseUrl ? { baseUrl: flags.baseUrl } : {}),
        ...(flags.rpm !== undefined ? { requestsPerMinute: flags.rpm } : {}),
        ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
        ...(flags.requestTimeoutMs !== undefined ? { requestTimeoutMs: flags.requestTimeoutMs } : {}),
        cache: false,
      });
      await preflightProviders([config.simulator, ...(config.judge ? [config.judge] : [])], {
        ...(config.baseUrl ? { baseURL: config.baseUrl } : {}),
        timeoutMs: Math.min(config.requestTimeoutMs, 15_000),
      });
      const { simulator, judge } = buildProviders(config, {}, undefined);
      if (simulator.isBaseline && selected.some((scorer) => scorer.needs.simulation))
        process.stderr.write('simulator: BASELINE (offline rule-based, not an LLM)\n');
      if (judge.isBaseline && selected.some((scorer) => scorer.needs.judge))
        process.stderr.write('judge: BASELINE (offline rule-based, not an LLM)\n');

      // The embedded brown-1l and its SAEs, loaded on first use, as a run loads them.
      const models =
        flags.subjectModels &&
        (sources.includes('brown-1l-outputs') || selected.some((scorer) => scorer.needs.subjectModel))
          ? createFeatureModels()
          : undefined;
      const cases = await loadTruthCases(sources, {
        ...(flags.features !== undefined ? { features: flags.features } : {}),
        otherFeatures: flags.otherFeatures,
        ...(flags.puzzles ? { puzzlesPath: flags.puzzles } : {}),
        seed: flags.seed,
        ...(models ? { models } : {}),
      }).catch((error: unknown) => {
        models?.dispose();
        throw error;
      });
      const encoder = await getEncoder();
      const countTokens = (text: string) => encoder.encode(text, 'all').length;
      const report = await validateScorers({
        cases,
        scorers: selected,
        simulator,
        judge,
        ...(models ? { models } : {}),
        countTokens,
        seed: flags.seed,
        concurrency: flags.concurrency,
        simulation: {
          template: loadSimulateTemplate(flags.simulatePrompt),
          ...(flags.recordsPerCall !== undefined ? { recordsPerCall: flags.recordsPerCall } : {}),
          budget: { contextTokens: flags.contextTokens ?? contextTokensOf(simulator.id), countTokens },
          answerAttempts: config.answerAttempts,
        },
        onFeatureDone: (done, total, truthCase) => {
          if (flags.progress)
            process.stderr.write(`validate-scorers: ${done}/${total} ${truthCase.source} ${truthCase.name}\n`);
        },
      }).finally(() => models?.dispose());
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatValidationTable(report));
    });
}
