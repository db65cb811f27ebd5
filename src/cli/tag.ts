/**
 * @module cli/tag — `autointerp tag RUN TAG…`: adds tags to a run (`--remove` takes them off; no tags lists
 * them). Runs are then found as `tag:NAME` (the newest run with that tag) by leaderboard, compare, regress,
 * report and export, e.g. `regress --baseline tag:baseline --candidate latest`. Names come from `run --name`.
 */
import type { Command } from 'commander';
import { requireRun } from '../report/run-selection.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';
import { runTags } from '../store/queries.ts';
import { UsageError } from './errors.ts';
import { databaseOption, openStore } from './shared-options.ts';

/** Tags are short words: letters, digits and . _ - / : + (no spaces or commas), at most 64 characters. */
export const TAG_PATTERN = /^[\p{L}\p{N}._\-/:+]{1,64}$/u;

export function registerTagCommand(program: Command): void {
  program
    .command('tag')
    .argument('<run>', 'run id, name, tag:NAME or latest')
    .argument('[tags...]', "tags to add (or remove with --remove); none: print the run's tags")
    .description('tag a run (e.g. "baseline", "nightly") so that other commands can name it as tag:NAME')
    .option('--remove', 'remove the given tags instead of adding them')
    .addOption(databaseOption())
    .action((reference: string, tags: string[], options: { remove?: boolean; db?: string }) => {
      for (const tag of tags) {
        if (!TAG_PATTERN.test(tag))
          throw new UsageError(`bad tag "${tag}": use letters, digits and . _ - / : + (at most 64 characters)`);
      }
      const { store, path, close } = openStore(options.db);
      try {
        const run = requireRun(store.db, reference, path);
        const current = runTags(run);
        const next = options.remove
          ? current.filter((tag) => !tags.includes(tag))
          : [...current, ...tags.filter((tag) => !current.includes(tag))];
        if (tags.length > 0) store.setRunTags(run.id, next);
        process.stdout.write(
          `run ${run.id} "${escapeTerminalText(run.name)}": ${next.length ? next.join(', ') : '(no tags)'}\n`,
        );
      } finally {
        close();
      }
    });
}
