/**
 * @module serve/runs-page — `/`: every run with its status, models, size and LLM cost; `/run/ID?score=KIND`: one run's
 * config, cost, its per-layer leaderboard of a score kind (report/leaderboard, one tab per kind the run stored) and
 * the score histograms per layer (serve/run-sections). Leaderboards and summaries are cached until the database
 * changes (a million features take seconds; a page view then takes milliseconds). Over a large database a run's
 * sections and the runs' unit counts are computed off the request path (serve/background-answers): the page answers
 * at once with what it has and a self-reloading "computing" note, then whole once they are ready.
 */
import { escapeHtml } from '../report/html-escape.ts';
import { listRuns, resolveRun, runConfig, runTags, scoreKindsOfRun } from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { runSummaries, type RunSummary } from '../store/viewer-queries.ts';
import { largestFeatureId } from '../store/score-streams.ts';
import { answersInBackground, type BackgroundAnswer, backgroundAnswer } from './background-answers.ts';
import { href } from './html-page.ts';
import { type RunSections, renderRunSections } from './run-sections.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

const DEFAULT_SCORE_KIND = 'correlation.all';

/** Every run's unit counts and cost: cached; over a large database counted off the request path. */
const summariesOf = (context: ViewerContext): BackgroundAnswer<Map<number, RunSummary>> =>
  backgroundAnswer(
    context,
    'run-summaries',
    () => runSummaries(context.db),
    (computer) => computer.summaries(),
  );

/** A run's leaderboard and histograms of one kind: cached; over a large database rendered off the request path. */
const sectionsOf = (context: ViewerContext, run: RunRow, scoreKind: string): BackgroundAnswer<RunSections> =>
  backgroundAnswer(
    context,
    `run:${run.id}:${scoreKind}`,
    () => renderRunSections(context.db, run, scoreKind),
    (computer) => computer.compute(run.id, scoreKind),
  );

/** How often a page whose answers are being computed reloads itself. */
const REFRESH_SECONDS = 2;

/** A page, reloading itself while any of `answers` is still being computed. */
function pageOf(title: string, body: string, answers: readonly BackgroundAnswer<unknown>[]): ViewerPage {
  return answers.some((answer) => answer.status === 'computing')
    ? { title, body, refreshSeconds: REFRESH_SECONDS }
    : { title, body };
}

const costText = (summary: RunSummary | undefined) =>
  summary === undefined || summary.costUsd === null ? '—' : `$${summary.costUsd.toFixed(4)}`;

/** A run's row of the runs table; its counts are "…" while they are being computed. */
function runRow(run: RunRow, summaries: BackgroundAnswer<Map<number, RunSummary>>): string {
  const counted = summaries.status === 'ready';
  const summary = counted ? summaries.value.get(run.id) : undefined;
  const units = summary?.units ?? { scored: 0, skipped: 0, failed: 0 };
  const cell = (value: string | number) => `<td class="num">${counted ? escapeHtml(String(value)) : '…'}</td>`;
  return (
    `<tr><td class="num"><a href="${href(`/run/${run.id}`)}">${run.id}</a></td>` +
    `<td><a href="${href(`/run/${run.id}`)}">${escapeHtml(run.name)}</a>${run.is_baseline ? ' <span class="badge">baseline</span>' : ''}</td>` +
    `<td>${escapeHtml(run.status)}</td><td>${escapeHtml(run.explainer)}</td><td>${escapeHtml(run.simulator)}</td>` +
    `<td>${escapeHtml(runTags(run).join(', '))}</td>` +
    cell(units.scored) +
    cell(units.skipped) +
    cell(units.failed) +
    cell(summary?.llmCalls ?? 0) +
    cell(costText(summary)) +
    `<td>${escapeHtml(run.started_at)}</td><td><a href="${href('/search', { run: run.id })}">search</a></td></tr>`
  );
}

/**
 * What the page says in place of an answer being computed (id `NAME-computing`), or why it could not be
 * (`NAME-failed`): `what` is plain text, `again` the page's own link.
 */
function notReady(answer: BackgroundAnswer<unknown>, name: string, what: string, again: string): string {
  const reload = `<a href="${again}">reload</a>`;
  if (answer.status === 'failed')
    return `<p class="reason" id="${name}-failed">Could not compute ${escapeHtml(what)}: ${escapeHtml(answer.message)} (${reload} to try again).</p>`;
  return `<p class="meta" id="${name}-computing">Computing ${escapeHtml(what)} in the background (seconds at a million features): this page reloads itself every ${REFRESH_SECONDS} s (or ${reload}).</p>`;
}

/** The database's size as the "computing" notes give it: its largest feature id. */
const featuresText = (context: ViewerContext) => `${largestFeatureId(context.db).toLocaleString('en')} features`;

export function renderRunsPage(context: ViewerContext): ViewerPage {
  const runs = listRuns(context.db).reverse();
  const summaries = summariesOf(context);
  const table = runs.length
    ? `<table class="board" id="runs"><thead><tr><th>id</th><th>name</th><th>status</th><th>explainer</th><th>simulator</th><th>tags</th><th>scored</th><th>skipped</th><th>failed</th><th>LLM calls</th><th>cost</th><th>started</th><th></th></tr></thead><tbody>${runs.map((run) => runRow(run, summaries)).join('')}</tbody></table>`
    : '<p class="meta">No runs in this database yet: <code>autointerp run</code> makes one.</p>';
  const note =
    runs.length && summaries.status !== 'ready'
      ? notReady(summaries, 'counts', `the runs' unit counts and costs over ${featuresText(context)}`, href('/'))
      : '';
  return pageOf('Runs', `<h1>Runs</h1>${note}${table}`, [summaries]);
}

const defaultScoreKind = (kinds: readonly string[]) =>
  kinds.includes(DEFAULT_SCORE_KIND) ? DEFAULT_SCORE_KIND : (kinds[0] ?? DEFAULT_SCORE_KIND);

/**
 * Starts computing the runs' counts and the newest run's page (its default score kind) in the background, so that
 * their first views are ready sooner; nothing for a database small enough to answer on the request path.
 */
export function warmNewestRunPage(context: ViewerContext): void {
  if (!answersInBackground(context)) return;
  const newest = listRuns(context.db).at(-1);
  if (!newest) return;
  summariesOf(context);
  const kinds = context.cache.get(`kinds:${newest.id}`, () => scoreKindsOfRun(context.db, newest.id));
  sectionsOf(context, newest, defaultScoreKind(kinds));
}

export function renderRunPage(context: ViewerContext, reference: string, requestedKind: string | null): ViewerPage {
  const run = resolveRun(context.db, reference);
  if (!run) throw new ViewerRequestError(404, `no run "${reference}" in this database`);
  const kinds = context.cache.get(`kinds:${run.id}`, () => scoreKindsOfRun(context.db, run.id));
  const scoreKind = requestedKind ?? defaultScoreKind(kinds);
  if (requestedKind !== null && !kinds.includes(requestedKind))
    throw new ViewerRequestError(404, `run ${run.id} has no "${requestedKind}" scores (it has: ${kinds.join(', ')})`);
  const summaries = summariesOf(context);
  const sections = sectionsOf(context, run, scoreKind);
  const summary = summaries.status === 'ready' ? summaries.value.get(run.id) : undefined;
  const tabs = kinds
    .map(
      (kind) =>
        `<a href="${href(`/run/${run.id}`, { score: kind })}"${kind === scoreKind ? ' aria-current="page"' : ''}>${escapeHtml(kind)}</a>`,
    )
    .join('');
  const units = summary?.units ?? { scored: 0, skipped: 0, failed: 0 };
  const again = href(`/run/${run.id}`, { score: scoreKind });
  const body =
    `<h1>Run ${run.id}: ${escapeHtml(run.name)}</h1>` +
    `<p class="meta">status <b>${escapeHtml(run.status)}</b> · explainer <code>${escapeHtml(run.explainer)}</code> · simulator <code>${escapeHtml(run.simulator)}</code>${run.is_baseline ? ' · <span class="badge">offline baseline</span>' : ''}</p>` +
    `<p class="meta">source <code>${escapeHtml(run.source)}</code> · started ${escapeHtml(run.started_at)} · finished ${escapeHtml(run.finished_at ?? '—')} · tags ${escapeHtml(runTags(run).join(', ') || '—')}</p>` +
    (summaries.status !== 'ready'
      ? notReady(summaries, 'counts', "the runs' unit counts and costs", again)
      : `<p class="meta">${units.scored} scored · ${units.skipped} skipped · ${units.failed} failed · ${summary?.llmCalls ?? 0} LLM calls · ${summary?.promptTokens ?? 0} prompt + ${summary?.completionTokens ?? 0} completion tokens · cost ${escapeHtml(costText(summary))}</p>`) +
    `<p><a href="${href('/search', { run: run.id, score: scoreKind, sort: 'score-desc' })}">search this run's features</a> · <a href="${href('/compare', { b: run.id, score: scoreKind })}">compare with another run</a></p>` +
    `<h2>Leaderboard</h2><nav class="tabs" aria-label="score kinds">${tabs}</nav>` +
    (sections.status === 'ready'
      ? sections.value.board +
        `<h2>${escapeHtml(scoreKind)} per layer</h2>${sections.value.charts || '<p class="meta">No defined scores.</p>'}`
      : notReady(
          sections,
          'leaderboard',
          `the leaderboard and histograms of ${scoreKind} over ${featuresText(context)}`,
          again,
        )) +
    `<h2>Config</h2><details><summary>the run's stored config (JSON, secrets stripped)</summary><pre class="config">${escapeHtml(JSON.stringify(runConfig(run), null, 2))}</pre></details>`;
  return pageOf(`Run ${run.id}`, body, [summaries, sections]);
}
