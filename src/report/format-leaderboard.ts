/** @module report/format-leaderboard — the leaderboard as a text table (stdout), as JSON and as CSV. */
import Table from 'cli-table3';
import { runTags } from '../store/queries.ts';
import { toCsv, type CsvValue } from './csv.ts';
import type { Leaderboard, LeaderboardRow } from './leaderboard.ts';

const fixed = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const truncate = (text: string | null, width: number) =>
  text === null ? '' : text.length > width ? `${text.slice(0, width - 1)}…` : text;
const kindLabel = (row: LeaderboardRow) => (row.sae ? `${row.featureKind} ${row.sae}` : row.featureKind);

/** Lines that say what a reader must not miss: several models or simulation modes on one board. */
export function leaderboardNotes(board: Leaderboard): string[] {
  const notes: string[] = [];
  const modes = new Set(board.rows.map((row) => row.simulationMode).filter((mode) => mode !== null));
  if (modes.size > 1) {
    notes.push(`NOTE: rows come from ${modes.size} simulation modes (${[...modes].join(', ')}); each row has one mode — compare rows only within a mode.`);
  }
  const models = new Set(board.rows.map((row) => row.model));
  if (models.size > 1) notes.push(`NOTE: rows come from ${models.size} subject models (${[...models].join(', ')}); each row has one model.`);
  return notes;
}

export function formatLeaderboardTable(board: Leaderboard): string {
  const { run } = board;
  const tags = runTags(run);
  const filters = Object.entries(board.filters ?? {}).filter(([, value]) => value !== undefined);
  const header = [
    `Leaderboard — run ${run.id} "${run.name}" (${run.status})${tags.length ? ` tags: ${tags.join(', ')}` : ''}`,
    `explainer ${run.explainer} · simulator ${run.simulator} · score ${board.scoreKind}${filters.length ? ` · filters: ${filters.map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`,
  ];
  if (board.isBaseline) {
    header.push('BASELINE: offline rule-based explainer/simulator, not an LLM — a floor to compare real runs against.');
  }
  header.push(...leaderboardNotes(board));
  if (board.rows.length === 0) return [...header, '(no rows: no scores of this kind match the filters)'].join('\n');
  const withAblation = board.rows.some((row) => row.ablationMedian !== undefined);
  const table = new Table({
    head: ['model', 'layer', 'kind', 'mode', 'n', 'scored', 'null', 'failed', 'mean', '95% CI', 'median', '≥0.5', '≥0.8', ...(withAblation ? ['ablation'] : []), 'best', 'worst'],
    style: { head: [], border: [] },
  });
  for (const row of board.rows) {
    table.push([
      row.model,
      row.layer,
      kindLabel(row),
      row.simulationMode ?? '—',
      row.features,
      row.scored,
      row.undefinedScores,
      row.failed,
      fixed(row.mean),
      row.ci ? `[${fixed(row.ci.low, 2)}, ${fixed(row.ci.high, 2)}]` : '—',
      fixed(row.median),
      percent(row.fractionAtLeast05),
      percent(row.fractionAtLeast08),
      ...(withAblation ? [fixed(row.ablationMedian ?? null)] : []),
      row.best ? `#${row.best.index} ${fixed(row.best.value, 2)} ${truncate(row.best.explanation, 28)}` : '—',
      row.worst ? `#${row.worst.index} ${fixed(row.worst.value, 2)} ${truncate(row.worst.explanation, 28)}` : '—',
    ]);
  }
  const reasons = new Map<string, number>();
  for (const row of board.rows) for (const [reason, n] of Object.entries(row.nullReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  const footer = [...reasons].map(([reason, n]) => `null scores: ${n} × ${reason}`);
  const failed = board.rows.reduce((sum, row) => sum + row.failed, 0);
  if (failed > 0) footer.push(`failed features: ${failed} (no score; see run_features.reason)`);
  if (withAblation) {
    footer.push('ablation: median ablation.all, 1 − E[JSD(orig, sim)] / E[JSD(orig, mean)] through the subject model (— where not computed; `--score ablation.all` ranks by it)');
  }
  return [...header, table.toString(), ...footer].join('\n');
}

export function leaderboardToJson(board: Leaderboard): unknown {
  return {
    run: {
      id: board.run.id,
      name: board.run.name,
      status: board.run.status,
      explainer: board.run.explainer,
      simulator: board.run.simulator,
      tags: runTags(board.run),
    },
    baseline: board.isBaseline,
    scoreKind: board.scoreKind,
    filters: board.filters ?? {},
    notes: leaderboardNotes(board),
    rows: board.rows,
  };
}

export const LEADERBOARD_CSV_HEADER = [
  'run_id', 'run_name', 'explainer', 'simulator', 'baseline', 'score_kind', 'model', 'layer', 'feature_kind', 'sae', 'simulation_mode',
  'features', 'scored', 'null_scores', 'failed', 'mean', 'ci_low', 'ci_high', 'ci_level', 'median', 'fraction_ge_0.5', 'fraction_ge_0.8',
  'best_feature', 'best_value', 'best_explanation', 'worst_feature', 'worst_value', 'worst_explanation',
] as const;

/** CSV rows of one leaderboard (header in LEADERBOARD_CSV_HEADER); several boards concatenate under one header. */
export function leaderboardCsvRows(board: Leaderboard): CsvValue[][] {
  return board.rows.map((row) => [
    board.run.id, board.run.name, board.run.explainer, board.run.simulator, board.isBaseline, board.scoreKind,
    row.model, row.layer, row.featureKind, row.sae, row.simulationMode,
    row.features, row.scored, row.undefinedScores, row.failed, row.mean, row.ci?.low, row.ci?.high, row.ci?.level, row.median,
    row.fractionAtLeast05, row.fractionAtLeast08,
    row.best?.featureKey, row.best?.value, row.best?.explanation, row.worst?.featureKey, row.worst?.value, row.worst?.explanation,
  ]);
}

export function leaderboardsToCsv(boards: readonly Leaderboard[]): string {
  return toCsv(LEADERBOARD_CSV_HEADER, boards.flatMap(leaderboardCsvRows));
}
