/** @module cli/leaderboard — `autointerp leaderboard`: per-layer score summary of a stored run. */
import type { Command } from 'commander';
import { buildLeaderboard } from '../report/leaderboard.ts';
import { formatLeaderboardTable, leaderboardToJson } from '../report/format-leaderboard.ts';
import { UsageError } from './errors.ts';
import { databaseOption, openStore } from './shared-options.ts';

export function registerLeaderboardCommand(program: Command): void {
  program
    .command('leaderboard')
    .description('per-layer score summary of a run: count, mean, median with 95% CI, fractions ≥ 0.5 / ≥ 0.8, best and worst')
    .option('--run <run>', 'run id or name (default: the latest run)')
    .option('--score <kind>', 'score kind: correlation.all, correlation.top, correlation.random, rsquared.all, absdev.all', 'correlation.all')
    .option('--json', 'print JSON')
    .addOption(databaseOption())
    .action((options: { run?: string; score: string; json?: boolean; db?: string }) => {
      const { store, path, close } = openStore(options.db);
      try {
        const run = options.run ? store.findRun(options.run) : store.latestRun();
        if (!run) throw new UsageError(options.run ? `no run "${options.run}" in ${path}` : `no runs in ${path}; start one with \`autointerp run\``);
        const board = buildLeaderboard(store.db, run, options.score);
        process.stdout.write(options.json ? `${JSON.stringify(leaderboardToJson(board), null, 2)}\n` : `${formatLeaderboardTable(board)}\n`);
      } finally {
        close();
      }
    });
}
