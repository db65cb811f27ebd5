/**
 * @module cli/compare — `autointerp compare RUN_A RUN_B`: the two runs paired on the features both scored, mean
 * difference (B − A) with a paired-bootstrap CI, per layer, and the features that moved most. Also the helpers
 * `regress` shares with it.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { intervalMethodNote } from '../report/bootstrap.ts';
import { compareRuns, type Comparison } from '../report/compare.ts';
import { comparisonToJson, formatComparisonText, warningLines } from '../report/format-compare.ts';
import { requireRun } from '../report/run-selection.ts';
import { jsonWithoutRawControls } from '../report/terminal-text.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { UsageError } from './errors.ts';
import { databaseOption, openStore, positiveInteger } from './shared-options.ts';

/** commander reducer for repeatable options. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}"`);
  return n;
}

export function confidenceLevel(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a level between 0 and 1 (e.g. 0.95), got "${value}"`);
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got "${value}"`);
  return n;
}

export interface ComparisonCliOptions {
  score: string;
  strict?: boolean;
  json?: boolean;
  top: number;
  resamples: number;
  level: number;
  seed: number;
  db?: string;
}

/** The options compare and regress share. */
export function addComparisonOptions(command: Command): Command {
  return command
    .option(
      '--score <kind>',
      'score kind to pair on (any stored kind: detection.balanced_accuracy, …)',
      'correlation.all',
    )
    .option(
      '--strict',
      'refuse (exit 2) when the runs measured differently: simulator, simulation mode, simulation prompt, score records or source',
    )
    .option('--json', 'print JSON')
    .option('--top <n>', 'most-worsened and most-improved features listed', nonNegativeInteger, 10)
    .option('--resamples <n>', 'bootstrap resamples', positiveInteger, 5000)
    .option('--level <p>', 'confidence level of the interval', confidenceLevel, 0.95)
    .option('--seed <n>', 'bootstrap seed (the same data and seed give the same interval)', nonNegativeInteger, 12345)
    .addOption(databaseOption());
}

/**
 * Opens the database, resolves both runs and compares them; warnings go to stderr (loud), and `--strict` turns
 * the ones that change what is measured into a usage error.
 */
export function runComparison<T>(
  baselineReference: string,
  candidateReference: string,
  options: ComparisonCliOptions,
  then: (comparison: Comparison, db: SqliteDatabase) => T,
): T {
  const { store, path, close } = openStore(options.db, { readonly: true });
  try {
    const baseline = requireRun(store.db, baselineReference, path);
    const candidate = requireRun(store.db, candidateReference, path);
    const comparison = compareRuns(store.db, baseline, candidate, {
      scoreKind: options.score,
      top: options.top,
      resamples: options.resamples,
      level: options.level,
      seed: options.seed,
    });
    for (const line of warningLines(comparison)) process.stderr.write(`${line}\n`);
    const blocking = comparison.warnings.filter((w) => w.instrument);
    if (options.strict && blocking.length > 0) {
      throw new UsageError(
        `--strict: the runs measured differently (${blocking.map((w) => w.code).join(', ')}); not comparing`,
      );
    }
    return then(comparison, store.db);
  } finally {
    close();
  }
}

/** The note on normal-approximation intervals, a line of its own, or nothing. */
export function methodNote(comparison: Comparison): string {
  const note = intervalMethodNote([comparison.overall.ci, ...comparison.layers.map((layer) => layer.ci)]);
  return note === null ? '' : `${note}\n`;
}

export function registerCompareCommand(program: Command): void {
  const command = program
    .command('compare')
    .argument('<baseline>', 'run A: id, name, tag:NAME or latest')
    .argument('<candidate>', 'run B: id, name, tag:NAME or latest')
    .description(
      'compare two runs on the features both scored (paired by model, layer, kind, index, SAE): mean difference B − A with a ' +
        'seeded paired-bootstrap CI, per layer, most moved features; features with a null score or failure on either side are counted, not dropped',
    );
  addComparisonOptions(command).action((baseline: string, candidate: string, options: ComparisonCliOptions) => {
    runComparison(baseline, candidate, options, (comparison) => {
      process.stdout.write(
        options.json
          ? `${jsonWithoutRawControls(JSON.stringify(comparisonToJson(comparison), null, 2))}\n`
          : `${formatComparisonText(comparison)}\n${methodNote(comparison)}`,
      );
    });
  });
}
