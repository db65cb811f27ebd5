/** @module report/format-leaderboard — the leaderboard as a text table (stdout), as JSON and as CSV. */
import Table from 'cli-table3';
import { runTags } from '../store/queries.ts';
import { toCsv, type CsvValue } from './csv.ts';
import { simulationProtocolLabel, type Leaderboard, type LeaderboardRow } from './leaderboard.ts';
import { scoreFamily } from './score-families.ts';
import { escapeTerminalText } from './terminal-text.ts';

const fixed = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);
const truncate = (text: string | null, width: number) =>
  text === null ? '' : text.length > width ? `${text.slice(0, width - 1)}…` : text;
const kindLabel = (row: LeaderboardRow) => (row.sae ? `${row.featureKind} ${row.sae}` : row.featureKind);
/**
 * The mode cell: rows of the offline baseline simulator say "baseline" (its rule-based model answers with prompt
 * logprobs, so the stored mode is `prompt-logprobs`, which would read as an LLM's; `--mode` and JSON/CSV keep it);
 * a protocol other than all records in one call adds the records per call (`chat-logprobs · 1/call`).
 */
/** Whether a board shows the ablation column: only where its rows have ablation scores. */
export const hasAblationColumn = (rows: readonly LeaderboardRow[]) =>
  rows.some((row) => row.ablationMedian !== undefined);

/**
 * The headline kinds of the scorer families a board shows as columns (leaderboard.ts `scorerMeans`, the same for
 * every row), in column order; none when the run stored no other scorer family.
 */
export const scorerColumnKindsOf = (rows: readonly LeaderboardRow[]): string[] =>
  Object.keys(rows.find((row) => row.scorerMeans !== undefined)?.scorerMeans ?? {});

/** A scorer column's title: its family (`detection` for `detection.balanced_accuracy`). */
export const scorerColumnTitle = (kind: string): string => scoreFamily(kind);

/** The leaderboard's column titles, as the terminal table and the HTML report both show them. */
export function leaderboardColumns(rows: readonly LeaderboardRow[]): string[] {
  return [
    'model',
    'layer',
    'kind',
    'mode',
    'n',
    'scored',
    'null',
    'failed',
    'mean',
    '95% CI',
    'median',
    '≥0.5',
    '≥0.8',
    ...scorerColumnKindsOf(rows).map(scorerColumnTitle),
    ...(hasAblationColumn(rows) ? ['ablation'] : []),
    'best',
    'worst',
  ];
}

export const simulationModeLabel = (
  simulator: string,
  row: Pick<LeaderboardRow, 'simulationMode' | 'recordsPerCall'>,
) =>
  row.simulationMode === null
    ? '—'
    : simulationProtocolLabel(simulator.startsWith('baseline') ? 'baseline' : row.simulationMode, row.recordsPerCall);
const modeLabel = (board: Leaderboard, row: LeaderboardRow) => simulationModeLabel(board.run.simulator, row);

export interface LeaderboardTableOptions {
  /**
   * Fit the table in this many columns (a terminal's width): the widest optional columns are left out, in the order
   * of `COLUMNS_LEFT_OUT_FIRST`, and a line names them. Default: every column, however wide.
   */
  width?: number;
}

/**
 * Columns left out, first to last, when the table is wider than the terminal (`SCORER_COLUMNS` stands for the
 * scorer families' columns, right to left); the others always stay.
 */
const SCORER_COLUMNS = '(scorer columns)';
const COLUMNS_LEFT_OUT_FIRST = [
  'worst',
  'best',
  '95% CI',
  '≥0.8',
  'null',
  'failed',
  'scored',
  '≥0.5',
  SCORER_COLUMNS,
  'ablation',
];

/** The widest line of a rendered table, in characters. */
const renderedWidth = (text: string) => Math.max(...text.split('\n').map((line) => [...line].length));

/** The table with the columns kept (the first `COLUMNS_LEFT_OUT_FIRST` entries dropped until it fits `width`). */
function fitTable(
  head: string[],
  cells: (string | number)[][],
  width: number | undefined,
  scorerColumns: readonly string[],
): { text: string; leftOut: string[] } {
  const render = (leftOut: readonly string[]) => {
    const kept = head.map((name, column) => (leftOut.includes(name) ? -1 : column)).filter((column) => column >= 0);
    // titles escaped too: a scorer column is titled by a stored score kind
    const titles = kept.map((column) => escapeTerminalText(head[column]!));
    const table = new Table({ head: titles, style: { head: [], border: [] } });
    for (const row of cells) table.push(kept.map((column) => row[column]!));
    return table.toString();
  };
  const leftOut: string[] = [];
  let text = render(leftOut);
  const order = COLUMNS_LEFT_OUT_FIRST.flatMap((name) =>
    name === SCORER_COLUMNS ? [...scorerColumns].reverse() : [name],
  );
  for (const name of order) {
    if (width === undefined || renderedWidth(text) <= width) break;
    if (!head.includes(name)) continue;
    leftOut.push(name);
    text = render(leftOut);
  }
  return { text, leftOut };
}

/** Lines that say what a reader must not miss: several models or simulation modes on one board. */
export function leaderboardNotes(board: Leaderboard): string[] {
  const notes: string[] = [];
  const modes = new Set(
    board.rows.flatMap((row) =>
      row.simulationMode === null ? [] : [simulationProtocolLabel(row.simulationMode, row.recordsPerCall)],
    ),
  );
  if (modes.size > 1) {
    notes.push(
      `NOTE: rows come from ${modes.size} simulation modes (${[...modes].join(', ')}); each row has one mode — compare rows only within a mode.`,
    );
  }
  const models = new Set(board.rows.map((row) => row.model));
  if (models.size > 1)
    notes.push(
      `NOTE: rows come from ${models.size} subject models (${[...models].join(', ')}); each row has one model.`,
    );
  return notes;
}

/** The leaderboard as text for a terminal; names, explanations and tokens have their control characters escaped. */
export function formatLeaderboardTable(board: Leaderboard, options: LeaderboardTableOptions = {}): string {
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
  if (board.rows.length === 0)
    return [...header, '(no rows: no scores of this kind match the filters)'].map(escapeTerminalText).join('\n');
  const withAblation = hasAblationColumn(board.rows);
  const scorerKinds = scorerColumnKindsOf(board.rows);
  const head = leaderboardColumns(board.rows);
  const cells: (string | number)[][] = [];
  for (const row of board.rows) {
    cells.push(
      [
        row.model,
        row.layer,
        kindLabel(row),
        modeLabel(board, row),
        row.features,
        row.scored,
        row.undefinedScores,
        row.failed,
        fixed(row.mean),
        row.ci ? `[${fixed(row.ci.low, 2)}, ${fixed(row.ci.high, 2)}]` : '—',
        fixed(row.median),
        percent(row.fractionAtLeast05),
        percent(row.fractionAtLeast08),
        ...scorerKinds.map((kind) => fixed(row.scorerMeans?.[kind] ?? null)),
        ...(withAblation ? [fixed(row.ablationMedian ?? null)] : []),
        row.best ? `#${row.best.index} ${fixed(row.best.value, 2)} ${truncate(row.best.explanation, 28)}` : '—',
        row.worst ? `#${row.worst.index} ${fixed(row.worst.value, 2)} ${truncate(row.worst.explanation, 28)}` : '—',
      ].map((cell) => (typeof cell === 'string' ? escapeTerminalText(cell) : cell)),
    );
  }
  const table = fitTable(head, cells, options.width, scorerKinds.map(scorerColumnTitle));
  const reasons = new Map<string, number>();
  for (const row of board.rows)
    for (const [reason, n] of Object.entries(row.nullReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  const footer = [...reasons].map(([reason, n]) => `null scores: ${n} × ${reason}`);
  const failed = board.rows.reduce((sum, row) => sum + row.failed, 0);
  if (failed > 0) footer.push(`failed features: ${failed} (no score; see run_features.reason)`);
  for (const kind of scorerKinds) {
    footer.push(
      `${scorerColumnTitle(kind)}: mean ${kind} of the row's features (— where none has one; \`--score ${kind}\` ranks by it)`,
    );
  }
  if (withAblation) {
    footer.push(
      'ablation: median ablation.all, 1 − E[JSD(orig, sim)] / E[JSD(orig, mean)] through the subject model (— where not computed; `--score ablation.all` ranks by it)',
    );
  }
  if (table.leftOut.length > 0) {
    footer.push(
      `columns left out to fit ${options.width} columns: ${table.leftOut.join(', ')} (\`autointerp leaderboard --wide\` shows every column)`,
    );
  }
  return [...header.map(escapeTerminalText), table.text, ...footer.map(escapeTerminalText)].join('\n');
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
  'run_id',
  'run_name',
  'explainer',
  'simulator',
  'baseline',
  'score_kind',
  'model',
  'layer',
  'feature_kind',
  'sae',
  'simulation_mode',
  'records_per_call',
  'features',
  'scored',
  'null_scores',
  'failed',
  'mean',
  'ci_low',
  'ci_high',
  'ci_level',
  'median',
  'fraction_ge_0.5',
  'fraction_ge_0.8',
  'best_feature',
  'best_value',
  'best_explanation',
  'worst_feature',
  'worst_value',
  'worst_explanation',
] as const;

/**
 * The CSV header of these boards: LEADERBOARD_CSV_HEADER, then `ablation.all_median` where a board has the
 * ablation column and `<kind>_mean` per scorer column of any board (leaderboard.ts `scorerMeans`).
 */
export function leaderboardCsvHeader(boards: readonly Leaderboard[]): string[] {
  const rows = boards.flatMap((board) => board.rows);
  return [
    ...LEADERBOARD_CSV_HEADER,
    ...(hasAblationColumn(rows) ? ['ablation.all_median'] : []),
    ...scorerCsvKinds(boards).map((kind) => `${kind}_mean`),
  ];
}

/** The scorer columns' kinds of several boards, in the order they first appear. */
const scorerCsvKinds = (boards: readonly Leaderboard[]) => [
  ...new Set(boards.flatMap((board) => scorerColumnKindsOf(board.rows))),
];

/**
 * CSV rows of one leaderboard under `header` (leaderboardCsvHeader of all the boards, default this board's alone);
 * several boards concatenate under one header, empty cells where a board has no such column.
 */
export function leaderboardCsvRows(
  board: Leaderboard,
  header: readonly string[] = leaderboardCsvHeader([board]),
): CsvValue[][] {
  const extraKinds = header.slice(LEADERBOARD_CSV_HEADER.length);
  return board.rows.map((row) => [
    board.run.id,
    board.run.name,
    board.run.explainer,
    board.run.simulator,
    board.isBaseline,
    board.scoreKind,
    row.model,
    row.layer,
    row.featureKind,
    row.sae,
    row.simulationMode,
    row.recordsPerCall,
    row.features,
    row.scored,
    row.undefinedScores,
    row.failed,
    row.mean,
    row.ci?.low,
    row.ci?.high,
    row.ci?.level,
    row.median,
    row.fractionAtLeast05,
    row.fractionAtLeast08,
    row.best?.featureKey,
    row.best?.value,
    row.best?.explanation,
    row.worst?.featureKey,
    row.worst?.value,
    row.worst?.explanation,
    ...extraKinds.map((column) =>
      column === 'ablation.all_median' ? row.ablationMedian : row.scorerMeans?.[column.replace(/_mean$/, '')],
    ),
  ]);
}

export function leaderboardsToCsv(boards: readonly Leaderboard[]): string {
  const header = leaderboardCsvHeader(boards);
  return toCsv(
    header,
    boards.flatMap((board) => leaderboardCsvRows(board, header)),
  );
}
