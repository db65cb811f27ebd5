/** @module cli/report — `autointerp report --run R --out report.html`: the self-contained HTML report of a run. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderReportHtml } from '../report/html-report.ts';
import { buildReportData, DEFAULT_JUDGEMENTS_PER_SCORER } from '../report/report-data.ts';
import { requireRun } from '../report/run-selection.ts';
import { scoreKindsOfRun } from '../store/queries.ts';
import { UsageError } from './errors.ts';
import { nonNegativeInteger } from './compare.ts';
import { databaseOption, openStore, requireOutputFolder } from './shared-options.ts';

interface ReportCliOptions {
  run: string;
  out: string;
  score: string;
  records: number;
  judgements: number;
  db?: string;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      'write one self-contained HTML file for a run (no network when viewed): leaderboard per layer, score histograms, score vs ' +
        "activation density, and a searchable, sortable card per feature with every score, true vs simulated token heat maps and the judges' answers",
    )
    .option('--run <run>', 'run id, name, tag:NAME or latest', 'latest')
    .option('--out <file>', 'HTML file to write (its folder must exist)', 'report.html')
    .option(
      '--score <kind>',
      'score kind for the leaderboard, histograms and default sort (any stored kind: detection.balanced_accuracy, …)',
      'correlation.all',
    )
    .option('--records <n>', 'score records shown per feature from each of top and random', nonNegativeInteger, 2)
    .option(
      '--judgements <n>',
      "judge's answers shown per judged scorer (detection, fuzzing, intervention) on each feature card, mistakes first",
      nonNegativeInteger,
      DEFAULT_JUDGEMENTS_PER_SCORER,
    )
    .addOption(databaseOption())
    .action((options: ReportCliOptions) => {
      requireOutputFolder(options.out, '--out');
      const { store, path, close } = openStore(options.db, { readonly: true });
      try {
        const run = requireRun(store.db, options.run, path);
        const kinds = scoreKindsOfRun(store.db, run.id);
        if (kinds.length > 0 && !kinds.includes(options.score)) {
          throw new UsageError(`run ${run.id} has no "${options.score}" scores (it has: ${kinds.join(', ')})`);
        }
        const data = buildReportData(store.db, run, {
          scoreKind: options.score,
          recordsPerSource: options.records,
          judgementsPerScorer: options.judgements,
        });
        const html = renderReportHtml(data);
        writeFileSync(options.out, html);
        process.stderr.write(
          `report: run ${run.id}, ${data.features.length} features, ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB → ${options.out}\n`,
        );
      } finally {
        close();
      }
    });
}
