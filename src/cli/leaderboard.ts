/** @module cli/leaderboard — `autointerp leaderboard`: per-layer score summary of stored runs (table, JSON or CSV). */
import { Option, type Command } from 'commander';
import { buildLeaderboard, type Leaderboard } from '../report/leaderboard.ts';
import { formatLeaderboardTable, leaderboardsToCsv, leaderboardToJson } from '../report/format-leaderboard.ts';
import { intervalMethodNote } from '../report/bootstrap.ts';
import { selectRuns } from '../report/run-selection.ts';
import { dataForStream, jsonWithoutRawControls } from '../report/terminal-text.ts';
import { scoreKindsOfRun } from '../store/queries.ts';
import { UsageError } from './errors.ts';
import { collect } from './compare.ts';
import { databaseOption, openStore, positiveInteger, terminalWidth } from './shared-options.ts';

interface LeaderboardCliOptions {
  run: string[];
  all?: boolean;
  score: string;
  explainer?: string;
  simulator?: string;
  promptVersion?: string;
  tag?: string;
  mode?: string;
  featureKind?: string;
  model?: string;
  layer?: string;
  top: number;
  json?: boolean;
  csv?: boolean;
  wide?: boolean;
  db?: string;
}

export function registerLeaderboardCommand(program: Command): void {
  program
    .command('leaderboard')
    .description(
      'per-layer score summary of a run: count, failed, null scores, mean, median with bootstrap 95% CI, fractions ≥ 0.5 / ≥ 0.8, best and worst features. ' +
        'Rows are per model, layer, feature kind (and SAE) and simulation mode: they never mix modes or models.',
    )
    .option(
      '--run <run>',
      'run id, name, tag:NAME or latest; repeat for several runs (default: the newest run matching the filters)',
      collect,
      [],
    )
    .option('--all', 'every run matching the filters, one leaderboard each')
    .option(
      '--score <kind>',
      'score kind: correlation.all, correlation.top, correlation.random, rsquared.all, absdev.all, ablation.all, detection.balanced_accuracy, fuzzing.auroc, intervention.score, … (any stored kind)',
      'correlation.all',
    )
    .option('--explainer <provider:model>', 'only runs with this explainer (exact, or a glob with *: "openai:*")')
    .option('--simulator <provider:model>', 'only runs with this simulator (exact or glob)')
    .option(
      '--prompt-version <version>',
      'only runs with this explain or simulate prompt version (explain.v1, simulate.v1)',
    )
    .option('--tag <tag>', 'only runs with this tag (see `autointerp tag`)')
    .addOption(
      new Option('--mode <mode>', 'only rows simulated in this mode').choices([
        'prompt-logprobs',
        'chat-logprobs',
        'sampled',
      ]),
    )
    .addOption(new Option('--feature-kind <kind>', 'only neurons or only SAE features').choices(['neuron', 'sae']))
    .option('--model <name>', 'only features of this subject model')
    .option('--layer <layer>', 'only this layer (index or hook name)')
    .option('--top <n>', 'best and worst features listed per row in --json', positiveInteger, 3)
    .option('--json', 'print JSON (one object for one run, an array for several)')
    .option('--csv', 'print CSV, one line per row, all selected runs under one header')
    .option(
      '--wide',
      'every column of the table, however wide (default on a terminal: the widest columns are left out to fit its width)',
    )
    .addOption(databaseOption())
    .action((options: LeaderboardCliOptions) => {
      if (options.json && options.csv) throw new UsageError('use either --json or --csv, not both');
      const { store, path, close } = openStore(options.db, { readonly: true });
      try {
        const runs = selectRuns(store.db, {
          references: options.run,
          all: options.all ?? false,
          where: path,
          filters: {
            explainer: options.explainer,
            simulator: options.simulator,
            promptVersion: options.promptVersion,
            tag: options.tag,
          },
        });
        const boards: Leaderboard[] = runs.map((run) => {
          const kinds = scoreKindsOfRun(store.db, run.id);
          if (kinds.length > 0 && !kinds.includes(options.score)) {
            throw new UsageError(`run ${run.id} has no "${options.score}" scores (it has: ${kinds.join(', ')})`);
          }
          return buildLeaderboard(store.db, run, options.score, {
            top: options.top,
            filters: {
              simulationMode: options.mode,
              featureKind: options.featureKind,
              model: options.model,
              layer: options.layer,
            },
          });
        });
        if (options.csv) process.stdout.write(dataForStream(leaderboardsToCsv(boards), process.stdout));
        else if (options.json) {
          const json = boards.map(leaderboardToJson);
          process.stdout.write(
            `${jsonWithoutRawControls(JSON.stringify(json.length === 1 ? json[0] : json, null, 2))}\n`,
          );
        } else {
          const width = options.wide ? undefined : terminalWidth(process.stdout);
          const note = intervalMethodNote(boards.flatMap((board) => board.rows.map((row) => row.ci)));
          process.stdout.write(
            `${boards.map((board) => formatLeaderboardTable(board, width === undefined ? {} : { width })).join('\n\n')}\n${note === null ? '' : `${note}\n`}`,
          );
        }
      } finally {
        close();
      }
    });
}
