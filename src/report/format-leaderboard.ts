/** @module report/format-leaderboard — the leaderboard as a text table (stdout) and as JSON. */
import Table from 'cli-table3';
import type { Leaderboard } from './leaderboard.ts';

const fixed = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const truncate = (text: string | null, width: number) =>
  text === null ? '' : text.length > width ? `${text.slice(0, width - 1)}…` : text;

export function formatLeaderboardTable(board: Leaderboard): string {
  const { run } = board;
  const header = [
    `Leaderboard — run ${run.id} "${run.name}" (${run.status})`,
    `explainer ${run.explainer} · simulator ${run.simulator} · score ${board.scoreKind}`,
  ];
  if (board.isBaseline) {
    header.push('BASELINE: offline rule-based explainer/simulator, not an LLM — a floor to compare real runs against.');
  }
  const table = new Table({
    head: ['model', 'layer', 'kind', 'mode', 'n', 'scored', 'null', 'failed', 'mean', '95% CI', 'median', '≥0.5', '≥0.8', 'best', 'worst'],
    style: { head: [], border: [] },
  });
  for (const row of board.rows) {
    table.push([
      row.model,
      row.layer,
      row.featureKind,
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
      row.best ? `#${row.best.index} ${fixed(row.best.value, 2)} ${truncate(row.best.explanation, 28)}` : '—',
      row.worst ? `#${row.worst.index} ${fixed(row.worst.value, 2)} ${truncate(row.worst.explanation, 28)}` : '—',
    ]);
  }
  const reasons = new Map<string, number>();
  for (const row of board.rows) for (const [reason, n] of Object.entries(row.nullReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  const footer = [...reasons].map(([reason, n]) => `null scores: ${n} × ${reason}`);
  return [...header, table.toString(), ...footer].join('\n');
}

export function leaderboardToJson(board: Leaderboard): unknown {
  return {
    run: { id: board.run.id, name: board.run.name, status: board.run.status, explainer: board.run.explainer, simulator: board.run.simulator },
    baseline: board.isBaseline,
    scoreKind: board.scoreKind,
    rows: board.rows,
  };
}
