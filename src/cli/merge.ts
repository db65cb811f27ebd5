/**
 * @module cli/merge — `autointerp merge A.db B.db … --out merged.db`: result databases into one new file; the shards
 * of one logical run (`run --shard i/n`) become one run (rules in store/merge.ts).
 */
import type { Command } from 'commander';
import { formatShard } from '../records/shards.ts';
import { MergeError } from '../store/merge-error.ts';
import { mergeDatabases, type MergedRunSummary, type MergeSummary } from '../store/merge.ts';
import { UsageError } from './errors.ts';

interface MergeFlags {
  out: string;
  force?: boolean;
  json?: boolean;
}

function describeRun(run: MergedRunSummary): string {
  const origin =
    run.kind === 'merged'
      ? `merged from ${run.from.length} of ${run.shards!.count} shards (${run.from.map((f) => `${f.input} run ${f.runId}: ${formatShard(f.shard!)}`).join(', ')})`
      : `copied from ${run.from[0]!.input} run ${run.from[0]!.runId}`;
  const features = run.scored + run.skipped + run.failed;
  return `  run ${run.runId} "${run.name}" ${run.status}: ${features} features (${run.scored} scored, ${run.skipped} skipped, ${run.failed} failed), ${run.scores} scores · ${origin}`;
}

export function formatMergeSummary(summary: MergeSummary): string {
  const merged = summary.runs.filter((run) => run.kind === 'merged');
  const lines = [
    `merged ${summary.inputs.length} database${summary.inputs.length === 1 ? '' : 's'} into ${summary.out}: ${summary.runs.length} run${summary.runs.length === 1 ? '' : 's'} (${merged.length} from shards, ${summary.runs.length - merged.length} copied), ${summary.features} features, ${summary.scores} scores, ${summary.llmCacheEntries} cached LLM answers${summary.saes ? `, ${summary.saes} SAEs` : ''}`,
    ...summary.runs.map(describeRun),
  ];
  return lines.join('\n');
}

export function registerMergeCommand(program: Command): void {
  program
    .command('merge')
    .description('merge result databases into a new one; the shards of one run (run --shard i/n) become one run')
    .argument('<databases...>', 'input SQLite files (read only)')
    .requiredOption('--out <path>', 'the merged database to write (must not exist unless --force)')
    .option('--force', 'replace --out when it exists')
    .option('--json', 'print the summary as JSON')
    .action((databases: string[], options: MergeFlags) => {
      let summary: MergeSummary;
      try {
        summary = mergeDatabases(databases, options.out, { force: options.force ?? false });
      } catch (error) {
        if (error instanceof MergeError) throw new UsageError(`merge refused: ${error.message}`, { cause: error });
        throw error;
      }
      for (const warning of summary.warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatMergeSummary(summary)}\n`);
    });
}
