/**
 * @module serve/runs-page — `/`: every run with its status, models, size and LLM cost; `/run/ID?score=KIND`: one run's
 * config, cost, its per-layer leaderboard of a score kind (report/leaderboard, one tab per kind the run stored) and
 * the score histograms per layer (report/svg-charts). Leaderboards and summaries are cached until the database
 * changes (a million features take seconds to bootstrap; a page view then takes milliseconds).
 */
import { buildLeaderboard, type Leaderboard, type LeaderboardRow } from '../report/leaderboard.ts';
import {
  leaderboardColumns,
  hasAblationColumn,
  scorerColumnKindsOf,
  simulationModeLabel,
} from '../report/format-leaderboard.ts';
import { escapeHtml } from '../report/html-escape.ts';
import { histogramSvgOfCounts, scoreRange } from '../report/svg-charts.ts';
import { compareLayers, listRuns, resolveRun, runConfig, runTags, scoreKindsOfRun } from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { minimumScore, runSummaries, scoreHistogramsByGroup, type RunSummary } from '../store/viewer-queries.ts';
import { fixed, href, percent } from './html-page.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

const DEFAULT_SCORE_KIND = 'correlation.all';

const summariesOf = (context: ViewerContext) => context.cache.get('run-summaries', () => runSummaries(context.db));

const costText = (summary: RunSummary | undefined) =>
  summary === undefined || summary.costUsd === null ? '—' : `$${summary.costUsd.toFixed(4)}`;

function runRow(run: RunRow, summary: RunSummary | undefined): string {
  const units = summary?.units ?? { scored: 0, skipped: 0, failed: 0 };
  return (
    `<tr><td class="num"><a href="${href(`/run/${run.id}`)}">${run.id}</a></td>` +
    `<td><a href="${href(`/run/${run.id}`)}">${escapeHtml(run.name)}</a>${run.is_baseline ? ' <span class="badge">baseline</span>' : ''}</td>` +
    `<td>${escapeHtml(run.status)}</td><td>${escapeHtml(run.explainer)}</td><td>${escapeHtml(run.simulator)}</td>` +
    `<td>${escapeHtml(runTags(run).join(', '))}</td>` +
    `<td class="num">${units.scored}</td><td class="num">${units.skipped}</td><td class="num">${units.failed}</td>` +
    `<td class="num">${summary?.llmCalls ?? 0}</td><td class="num">${escapeHtml(costText(summary))}</td>` +
    `<td>${escapeHtml(run.started_at)}</td><td><a href="${href('/search', { run: run.id })}">search</a></td></tr>`
  );
}

export function renderRunsPage(context: ViewerContext): ViewerPage {
  const runs = listRuns(context.db).reverse();
  const summaries = summariesOf(context);
  const table = runs.length
    ? `<table class="board" id="runs"><thead><tr><th>id</th><th>name</th><th>status</th><th>explainer</th><th>simulator</th><th>tags</th><th>scored</th><th>skipped</th><th>failed</th><th>LLM calls</th><th>cost</th><th>started</th><th></th></tr></thead><tbody>${runs.map((run) => runRow(run, summaries.get(run.id))).join('')}</tbody></table>`
    : '<p class="meta">No runs in this database yet: <code>autointerp run</code> makes one.</p>';
  return { title: 'Runs', body: `<h1>Runs</h1>${table}` };
}

/** A leaderboard row's kind as the boards print it: `neuron`, `sae`, or `sae <name>`. */
const groupKind = (kind: string, sae: string) => (sae ? `${kind} ${sae}` : kind);

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

/** Histograms of a score kind: one per (model, layer, feature kind, SAE), counted in SQL. */
function histograms(context: ViewerContext, run: RunRow, scoreKind: string): string {
  const minimum = minimumScore(context.db, run.id, scoreKind);
  const range = scoreRange(scoreKind, minimum === null ? [] : [minimum]);
  const groups = scoreHistogramsByGroup(context.db, run.id, scoreKind, { ...range, bins: 20 }).sort(
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

export function renderRunPage(context: ViewerContext, reference: string, requestedKind: string | null): ViewerPage {
  const run = resolveRun(context.db, reference);
  if (!run) throw new ViewerRequestError(404, `no run "${reference}" in this database`);
  const kinds = context.cache.get(`kinds:${run.id}`, () => scoreKindsOfRun(context.db, run.id));
  const scoreKind =
    requestedKind ?? (kinds.includes(DEFAULT_SCORE_KIND) ? DEFAULT_SCORE_KIND : (kinds[0] ?? DEFAULT_SCORE_KIND));
  if (requestedKind !== null && !kinds.includes(requestedKind))
    throw new ViewerRequestError(404, `run ${run.id} has no "${requestedKind}" scores (it has: ${kinds.join(', ')})`);
  const sections = context.cache.get(`run:${run.id}:${scoreKind}`, () => ({
    board: leaderboardTable(buildLeaderboard(context.db, run, scoreKind)),
    charts: histograms(context, run, scoreKind),
  }));
  const summary = summariesOf(context).get(run.id);
  const tabs = kinds
    .map(
      (kind) =>
        `<a href="${href(`/run/${run.id}`, { score: kind })}"${kind === scoreKind ? ' aria-current="page"' : ''}>${escapeHtml(kind)}</a>`,
    )
    .join('');
  const units = summary?.units ?? { scored: 0, skipped: 0, failed: 0 };
  const body =
    `<h1>Run ${run.id}: ${escapeHtml(run.name)}</h1>` +
    `<p class="meta">status <b>${escapeHtml(run.status)}</b> · explainer <code>${escapeHtml(run.explainer)}</code> · simulator <code>${escapeHtml(run.simulator)}</code>${run.is_baseline ? ' · <span class="badge">offline baseline</span>' : ''}</p>` +
    `<p class="meta">source <code>${escapeHtml(run.source)}</code> · started ${escapeHtml(run.started_at)} · finished ${escapeHtml(run.finished_at ?? '—')} · tags ${escapeHtml(runTags(run).join(', ') || '—')}</p>` +
    `<p class="meta">${units.scored} scored · ${units.skipped} skipped · ${units.failed} failed · ${summary?.llmCalls ?? 0} LLM calls · ${summary?.promptTokens ?? 0} prompt + ${summary?.completionTokens ?? 0} completion tokens · cost ${escapeHtml(costText(summary))}</p>` +
    `<p><a href="${href('/search', { run: run.id, score: scoreKind, sort: 'score-desc' })}">search this run's features</a> · <a href="${href('/compare', { b: run.id, score: scoreKind })}">compare with another run</a></p>` +
    `<h2>Leaderboard</h2><nav class="tabs" aria-label="score kinds">${tabs}</nav>${sections.board}` +
    `<h2>${escapeHtml(scoreKind)} per layer</h2>${sections.charts || '<p class="meta">No defined scores.</p>'}` +
    `<h2>Config</h2><details><summary>the run's stored config (JSON, secrets stripped)</summary><pre class="config">${escapeHtml(JSON.stringify(runConfig(run), null, 2))}</pre></details>`;
  return { title: `Run ${run.id}`, body };
}
