/**
 * @module report/run-selection — which runs a report is about: references (`12`, a name, `tag:NAME`, `latest`)
 * and run-level filters (explainer, simulator, prompt version, tag). Explainer and simulator patterns match the
 * stored `provider:model` exactly, or as a glob where they contain `*` (`openai:*`).
 */
import type { SqliteDatabase } from '../store/database.ts';
import { listRuns, resolveRun, runPromptVersions, runTags } from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { InputError } from '../common/errors.ts';

export interface RunFilters {
  explainer?: string;
  simulator?: string;
  /** Matches the run's explain or simulate prompt version (`explain.v1`, `simulate.v1`). */
  promptVersion?: string;
  tag?: string;
}

/** A run reference that names no run, or filters that match none: a usage error (exit 2). */
export class RunSelectionError extends InputError {
  override readonly name = 'RunSelectionError';
}

const globToRegExp = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
export const matchesPattern = (pattern: string, value: string) =>
  pattern.includes('*') ? globToRegExp(pattern).test(value) : pattern === value;

export function runMatches(run: RunRow, filters: RunFilters): boolean {
  const prompts = runPromptVersions(run);
  return (
    (filters.explainer === undefined || matchesPattern(filters.explainer, run.explainer)) &&
    (filters.simulator === undefined || matchesPattern(filters.simulator, run.simulator)) &&
    (filters.promptVersion === undefined ||
      prompts.explain === filters.promptVersion ||
      prompts.simulate === filters.promptVersion) &&
    (filters.tag === undefined || runTags(run).includes(filters.tag))
  );
}

export const describeFilters = (filters: RunFilters) =>
  Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');

/** One run by reference; throws RunSelectionError naming the database when there is none. */
export function requireRun(db: SqliteDatabase, reference: string, where: string): RunRow {
  const run = resolveRun(db, reference);
  if (!run) {
    const hint = reference.startsWith('tag:') ? `no run tagged "${reference.slice(4)}"` : `no run "${reference}"`;
    throw new RunSelectionError(`${hint} in ${where}`);
  }
  return run;
}

/**
 * The runs named by `references` (all of them must match the filters), or with none named: every run matching the
 * filters when `all`, else the newest one.
 */
export function selectRuns(
  db: SqliteDatabase,
  options: { references?: readonly string[]; all?: boolean; filters?: RunFilters; where: string },
): RunRow[] {
  const filters = options.filters ?? {};
  const described = describeFilters(filters);
  if (options.references && options.references.length > 0) {
    return options.references.map((reference) => {
      const run = requireRun(db, reference, options.where);
      if (!runMatches(run, filters))
        throw new RunSelectionError(`run ${run.id} "${run.name}" does not match the filters (${described})`);
      return run;
    });
  }
  const runs = listRuns(db).filter((run) => runMatches(run, filters));
  if (runs.length === 0) {
    throw new RunSelectionError(
      described
        ? `no run in ${options.where} matches ${described}`
        : `no runs in ${options.where}; start one with \`autointerp run\``,
    );
  }
  return options.all ? runs : [runs.at(-1)!];
}
