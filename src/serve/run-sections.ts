/**
 * @module serve/run-sections — the sections of a run page that read every score of one kind: the per-layer
 * leaderboard (report/leaderboard) as a table and the per-layer score histograms (serve/score-histograms drawn by
 * report/svg-charts), rendered to HTML from a database connection alone, so that a worker thread can render them too.
 */
import { buildLeaderboard, type Leaderboard, type LeaderboardRow } from '../report/leaderboard.ts';
import {
  hasAblationColumn,
  leaderboardColumns,
  scorerColumnKindsOf,
  simulationModeLabel,
} from '../report/format-leaderboard.ts';
import { escapeHtml } from '../report/html-escape.ts';
import { histogramSvgOfCounts, scoreRange } from '../report/svg-charts.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { compareLayers } from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { minimumScore } from '../store/viewer-queries.ts';
import { fixed, href, percent } from './html-page.ts';
import { scoreHistogramsByGroup } from './score-histograms.ts';

/** A run page's leaderboard table and histograms of one score kind, as HTML ('' charts: no defined score). */
export interface RunSections {
  board: string;
  charts: string;
}

/** A leaderboard row's kind as the boards print it: `neuron`, `sae`, or `sae <name>`. */
export const groupKind = (kind: string, sae: string) => (sae ? `${kind} ${sae}` : kind);

function leaderboardTable(board: Leaderboard): string {
  const rows = board.rows;
  if (rows.length === 0) return '<p class="meta">No scores of this kind.</p>';
  const withAblation = hasAblationColumn(rows);
  const scorerKinds = scorerColumnKindsOf(rows);
  const layerLink = (row: LeaderboardRow, sort: 'score-desc' | 'score-asc') =>
    href('/search', {
      run: board.run.id,
      score: board.scoreKind,
      layer: row.layer,
      'feature-kind': row.featureKind,
      sae: row.sae,
      sort,
    });
  const ref = (row: LeaderboardRow, which: 'best' | 'worst') => {
    const feature = row[which];
    return feature
      ? `<td class="explain-cell"><a href="${layerLink(row, which === 'best' ? 'score-desc' : 'score-asc')}"><b>${escapeHtml(`#${feature.index} ${fixed(feature.value, 2)}`)}</b></a> ${escapeHtml(feature.explanation ?? '')}</td>`
      : '<td>—</td>';
  };
  const body = rows
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.model)}</td><td><a href="${layerLink(row, 'score-desc')}">${escapeHtml(row.layer)}</a></td><td>${escapeHtml(groupKind(row.featureKind, row.sae))}</td>` +
        `<td>${escapeHtml(simulationModeLabel(board.run.simulator, row))}</td>` +
        `<td class="num">${row.features}</td><td class="num">${row.scored}</td><td class="num">${row.undefinedScores}</td><td class="num">${row.failed}</td>` +
        `<td class="num">${fixed(row.mean)}</td><td class="num">${row.ci ? escapeHtml(`[${fixed(row.ci.low, 2)}, ${fixed(row.ci.high, 2)}]`) : '—'}</td>` +
        `<td class="num">${fixed(row.median)}</td><td class="num">${percent(row.fractionAtLeast05)}</td><td class="num">${percent(row.fractionAtLeast08)}</td>` +
        scorerKinds.map((kind) => `<td class="num">${fixed(row.scorerMeans?.[kind] ?? null)}</td>`).join('') +
        (withAblation ? `<td class="num">${fixed(row.ablationMedian ?? null)}</td>` : '') +
        ref(row, 'best') +
        ref(row, 'worst') +
        `</tr>`,
    )
    .join('');
  return `<table class="board" id="leaderboard"><thead><tr>${leaderboardColumns(rows)
    .map((title) => `<th>${escapeHtml(title)}</th>`)
    .join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Histograms of a score kind: one per (model, layer, feature kind, SAE), in the leaderboard's order. */
function histograms(db: SqliteDatabase, run: RunRow, scoreKind: string): string {
  const minimum = minimumScore(db, run.id, scoreKind);
  const range = scoreRange(scoreKind, minimum === null ? [] : [minimum]);
  const groups = scoreHistogramsByGroup(db, run.id, scoreKind, { ...range, bins: 20 }).sort(
    (a, b) =>
      a.model.localeCompare(b.model) ||
      compareLayers(a.layer, b.layer) ||
      a.kind.localeCompare(b.kind) ||
      a.sae.localeCompare(b.sae),
  );
  if (groups.length === 0) return '';
  return `<div class="small-multiples">${groups
    .map((group) =>
      histogramSvgOfCounts(group.counts, group.clipped, {
        title: `${group.model} · layer ${group.layer} · ${groupKind(group.kind, group.sae)}`,
        ...range,
        width: 300,
        height: 140,
      }),
    )
    .join('')}</div>`;
}

/**
 * The two sections of a run page that read every score of the kind: its leaderboard table and its per-layer
 * histograms, as HTML. Seconds at 10^6 features: the viewer computes them off the request path
 * (serve/run-sections-worker) unless the database is small.
 */
export function renderRunSections(db: SqliteDatabase, run: RunRow, scoreKind: string): RunSections {
  return { board: leaderboardTable(buildLeaderboard(db, run, scoreKind)), charts: histograms(db, run, scoreKind) };
}
