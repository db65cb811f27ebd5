/**
 * @module cli/export — `autointerp export --run R --format jsonl|csv|neuronpedia --out PATH`: a run's explanations
 * and scores (formats documented in report/export.ts; `neuronpedia` is one JSON array of per-feature objects), written
 * a page of features at a time as they are read, so memory stays bounded whatever the run's size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, exportChunks, type ExportFormat } from '../report/export.ts';
import { requireRun } from '../report/run-selection.ts';
import { dataForStream, jsonWithoutRawControls } from '../report/terminal-text.ts';
import { nonNegativeInteger } from './compare.ts';
import { databaseOption, openStore, requireOutputFolder } from './shared-options.ts';

interface ExportCliOptions {
  run: string;
  format: ExportFormat;
  out: string;
  records: number;
  db?: string;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      "a run's explanations and scores: jsonl (one feature a line), csv (one row a feature, a column per score kind), " +
        'neuronpedia (one JSON array of Neuronpedia-style per-feature objects with top activation records)',
    )
    .option('--run <run>', 'run id, name, tag:NAME or latest', 'latest')
    .addOption(new Option('--format <format>', 'output format').choices(EXPORT_FORMATS).default('jsonl'))
    .option('--out <path>', 'file to write (its folder must exist), or - for stdout', '-')
    .option('--records <n>', 'neuronpedia: top activation records per feature', nonNegativeInteger, 5)
    .addOption(databaseOption())
    .action(async (options: ExportCliOptions) => {
      if (options.out !== '-') requireOutputFolder(options.out, '--out');
      const { store, path, close } = openStore(options.db, { readonly: true });
      try {
        const run = requireRun(store.db, options.run, path);
        const chunks = exportChunks(store.db, run, options.format, { activationRecords: options.records });
        // JSON formats: the same values with DEL/C1 controls \u-escaped; CSV: exact, but inert when shown on a terminal
        const exact = (chunk: string) => (options.format === 'csv' ? chunk : jsonWithoutRawControls(chunk));
        if (options.out === '-') {
          for (const chunk of chunks) {
            // wait for a slow reader rather than queue the whole export in memory
            if (!process.stdout.write(dataForStream(exact(chunk), process.stdout))) await once(process.stdout, 'drain');
          }
        } else {
          const file = openSync(options.out, 'w');
          try {
            for (const chunk of chunks) writeSync(file, exact(chunk));
          } finally {
            closeSync(file);
          }
          process.stderr.write(`export: run ${run.id} as ${options.format} → ${options.out}\n`);
        }
      } finally {
        close();
      }
    });
}
