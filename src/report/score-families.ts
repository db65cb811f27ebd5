/**
 * @module report/score-families — score kinds grouped by family (`detection.f1` is of family `detection`) and the
 * one headline kind each family shows where a report has room for one number: the leaderboard's column per scorer,
 * Neuronpedia's score type names. A family not listed here gets `<family>.balanced_accuracy`, else `<family>.score`,
 * else `<family>.all`, else its first kind alphabetically, so a new scorer shows up without an edit here.
 */

/** The family of a score kind: the part before the first dot (`detection.balanced_accuracy` → `detection`). */
export const scoreFamily = (kind: string): string => {
  const dot = kind.indexOf('.');
  return dot < 0 ? kind : kind.slice(0, dot);
};

/** The headline kind of the families autointerp ships, in the order reports show them. */
export const KNOWN_HEADLINE_KINDS: Readonly<Record<string, string>> = {
  correlation: 'correlation.all',
  detection: 'detection.balanced_accuracy',
  fuzzing: 'fuzzing.balanced_accuracy',
  intervention: 'intervention.score',
  ablation: 'ablation.all',
};

/** Measures of the correlation scorer's simulation besides correlation itself: no column of their own. */
const SIMULATION_MEASURE_FAMILIES: readonly string[] = ['rsquared', 'absdev'];

/** The family's headline kind among the kinds a run stored, or undefined when the run has none of that family. */
export function headlineKind(family: string, runKinds: readonly string[]): string | undefined {
  const ofFamily = runKinds.filter((kind) => scoreFamily(kind) === family).sort();
  if (ofFamily.length === 0) return undefined;
  const preferred = [
    KNOWN_HEADLINE_KINDS[family],
    `${family}.balanced_accuracy`,
    `${family}.score`,
    `${family}.all`,
  ].find((kind) => kind !== undefined && ofFamily.includes(kind));
  return preferred ?? ofFamily[0];
}

/**
 * The headline kinds a leaderboard ranked by `boardKind` shows as extra columns: one per scorer family the run
 * stored, known families first in their order, then the others alphabetically; never the board's own family, nor
 * ablation (it has its own column, a median) or the simulation's rsquared / absdev.
 */
export function scorerColumnKinds(runKinds: readonly string[], boardKind: string): string[] {
  const known = Object.keys(KNOWN_HEADLINE_KINDS);
  const families = [...new Set(runKinds.map(scoreFamily))]
    .filter(
      (family) =>
        family !== scoreFamily(boardKind) && family !== 'ablation' && !SIMULATION_MEASURE_FAMILIES.includes(family),
    )
    .sort((a, b) => {
      const rank = (family: string) => (known.includes(family) ? known.indexOf(family) : known.length);
      return rank(a) - rank(b) || a.localeCompare(b);
    });
  return families.map((family) => headlineKind(family, runKinds)!);
}

/**
 * Neuronpedia's names for the score types it stores from EleutherAI's scorers (its DetectionScorer and FuzzingScorer
 * backends, scored by balanced accuracy): detection's balanced accuracy is its `eleuther_recall`, fuzzing's its
 * `eleuther_fuzz`. Other kinds keep their own name.
 */
export const NEURONPEDIA_SCORE_TYPES: Readonly<Record<string, string>> = {
  'detection.balanced_accuracy': 'eleuther_recall',
  'fuzzing.balanced_accuracy': 'eleuther_fuzz',
};
