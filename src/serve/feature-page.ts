/**
 * @module serve/feature-page — `/feature/ID[?run=R]`: one feature across runs: every explanation with every score and
 * its reason, what judges answered (the `judgements` table), the records of one run as heat maps of true vs
 * simulated activations grouped top / quantile / random, the histogram of their activations, and for a model the
 * viewer can load, the tokens the feature promotes and suppresses through the unembedding, and a steering form.
 * Every list is capped and continues on a page of its own, by keyset (a feature of a million-feature database may
 * be in hundreds of runs, with hundreds of records or candidates): `runs-before=RUN` (older runs), `candidates-after=N`
 * (the candidates of `run` after N), `records-after=RECORD` (the records of `run` after that one).
 */
import { escapeHtml } from '../report/html-escape.ts';
import { storedFeatureKey } from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import {
  countFeatureRecordsInRun,
  featureAcrossRuns,
  featureInRun,
  featureRecordsInRun,
  viewerFeature,
  type FeatureInRun,
} from '../store/viewer-queries.ts';
import { activationHistogramSvg, groupRecords, recordHeatMap, visibleToken } from './heat-map.ts';
import { fixed, href } from './html-page.ts';
import type { TokenEffect } from './viewer-models.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

/** How many of each list a feature page shows before its "more" link. */
export const FEATURE_PAGE_CAPS = { runs: 10, candidates: 20, records: 40, judgeExamples: 20 } as const;

/** The feature page's own parameters: which run's records, and where each capped list's page starts. */
interface FeaturePageState {
  featureId: number;
  shownRun: number | null;
  runsBefore: number | undefined;
  candidatesAfter: number | undefined;
  recordsAfter: number | undefined;
}

/** A link to this feature's page with `state` changed by `change` (a "more" link of one of its lists). */
function featureLink(state: FeaturePageState, change: Partial<FeaturePageState>): string {
  const next = { ...state, ...change };
  return href(`/feature/${next.featureId}`, {
    run: next.shownRun,
    'runs-before': next.runsBefore,
    'candidates-after': next.candidatesAfter,
    'records-after': next.recordsAfter,
  });
}

function scoresTable(result: FeatureInRun): string {
  if (result.scores.length === 0) return '<p class="meta">No scores stored.</p>';
  const rows = result.scores
    .map(
      (score) =>
        `<tr><td>${escapeHtml(score.kind)}</td><td class="num">${score.value === null ? 'null' : fixed(score.value)}</td>` +
        `<td>${escapeHtml(score.reason ?? '')}</td><td class="num">${score.nTokens}</td><td class="num">${score.nMissing}</td>` +
        `<td>${escapeHtml(score.simulationMode ?? '—')}</td><td>${escapeHtml(score.promptVersion ?? '')}</td></tr>`,
    )
    .join('');
  return `<table class="board scores-table"><thead><tr><th>score</th><th>value</th><th>reason</th><th>tokens</th><th>missing</th><th>simulation</th><th>prompt</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A best-of-n run's candidate explanations: how each was made and scored, the selected one marked. */
function candidatesTable(result: FeatureInRun, state: FeaturePageState): string {
  if (result.candidates.length === 0) return '';
  const from =
    result.candidatesAfter === null
      ? ''
      : ` <a href="${featureLink(state, { shownRun: result.run.id, candidatesAfter: undefined, recordsAfter: undefined })}">« first candidates</a>`;
  const more = result.moreCandidates
    ? `<p class="more"><a class="more-candidates" href="${featureLink(state, { shownRun: result.run.id, candidatesAfter: result.candidates.at(-1)!.candidate, recordsAfter: undefined })}">more candidates ›</a></p>`
    : '';
  const rows = result.candidates
    .map(
      (candidate) =>
        `<tr${candidate.selected ? ' class="selected"' : ''}><td class="num">${candidate.candidate}</td>` +
        `<td>${escapeHtml(candidate.kind)}${candidate.parent === null ? '' : ` of #${candidate.parent}`}</td>` +
        `<td>${escapeHtml(candidate.text)}</td><td>${escapeHtml(candidate.promptVersion)}</td>` +
        `<td class="num">${fixed(candidate.calibrationScore)}</td><td class="num">${fixed(candidate.heldOutScore)}</td>` +
        `<td>${candidate.selected ? '<b>selected</b>' : ''}</td></tr>`,
    )
    .join('');
  return `<h4>Candidate explanations${from}</h4><table class="board candidates"><thead><tr><th>#</th><th>made as</th><th>text</th><th>prompt</th><th>calibration r</th><th>held-out r</th><th></th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

/** One judge's answers: each example's tokens, the truth, the answer and its probability. */
function judgementsSection(result: FeatureInRun): string {
  return result.judgements
    .map((judgement) => {
      const shown = judgement.examples.slice(0, FEATURE_PAGE_CAPS.judgeExamples);
      const hidden = judgement.examples.length - shown.length;
      const rows = shown
        .map((example) => {
          const item = (example ?? {}) as {
            tokens?: unknown;
            source?: unknown;
            truth?: unknown;
            predicted?: unknown;
            probability?: unknown;
          };
          const tokens = Array.isArray(item.tokens)
            ? item.tokens.map((token) => visibleToken(String(token))).join('')
            : '';
          const wrong = typeof item.predicted === 'boolean' && item.predicted !== item.truth;
          return (
            `<tr class="judgement${wrong ? ' wrong' : ''}"><td>${escapeHtml(String(item.source ?? ''))}</td><td class="tokens">${escapeHtml(tokens)}</td>` +
            `<td>${escapeHtml(String(item.truth ?? ''))}</td><td>${escapeHtml(item.predicted === null ? 'unreadable' : String(item.predicted ?? ''))}</td>` +
            `<td class="num">${typeof item.probability === 'number' ? fixed(item.probability, 2) : '—'}</td></tr>`
          );
        })
        .join('');
      return (
        `<h4>${escapeHtml(judgement.scorer)} · judge <code>${escapeHtml(judgement.judge)}</code> · ${escapeHtml(judgement.promptVersion)}</h4>` +
        `<table class="board judgements"><thead><tr><th>source</th><th>window</th><th>truth</th><th>answer</th><th>p(yes)</th></tr></thead><tbody>${rows}</tbody></table>` +
        (hidden > 0
          ? `<p class="meta">${shown.length} of ${judgement.examples.length} answers shown; <code>autointerp export --format jsonl</code> has every one.</p>`
          : '')
      );
    })
    .join('');
}

function explanationsSection(
  results: readonly FeatureInRun[],
  olderRuns: number | null,
  state: FeaturePageState,
): string {
  const shownRun = state.shownRun;
  if (results.length === 0)
    return state.runsBefore === undefined
      ? '<p class="meta">No run holds this feature.</p>'
      : `<p class="meta">No older run holds this feature. <a href="${featureLink(state, { runsBefore: undefined })}">« newest runs</a></p>`;
  const pager =
    `<nav class="pager" aria-label="runs">` +
    (state.runsBefore === undefined
      ? ''
      : `<a href="${featureLink(state, { runsBefore: undefined })}" id="newest-runs">« newest runs</a>`) +
    (olderRuns === null
      ? ''
      : `<a href="${featureLink(state, { runsBefore: olderRuns })}" id="older-runs" rel="next">older runs ›</a>`) +
    `</nav>`;
  return (
    results
      .map((result) => {
        const explanation = result.explanation
          ? `<p class="explanation">${escapeHtml(result.explanation.text)}</p><p class="meta">by <code>${escapeHtml(result.explanation.explainer)}</code> · ${escapeHtml(result.explanation.promptVersion)}${result.explanation.isBaseline ? ' · offline baseline' : ''}</p>`
          : '<p class="meta">No explanation.</p>';
        const status = result.status
          ? `<span class="badge ${escapeHtml(result.status)}">${escapeHtml(result.status)}</span>${result.reason ? ` <span class="reason">${escapeHtml(`${result.stage ? `${result.stage}: ` : ''}${result.reason}`)}</span>` : ''}`
          : '';
        const records =
          result.run.id === shownRun
            ? ' · records shown below'
            : ` · <a href="${featureLink(state, { shownRun: result.run.id, candidatesAfter: undefined, recordsAfter: undefined })}">show this run's records</a>`;
        return (
          `<section class="card run-result" data-run="${result.run.id}"><div class="card-head"><a href="${href(`/run/${result.run.id}`)}">run ${result.run.id}: ${escapeHtml(result.run.name)}</a> ${status}<span class="meta">${records}</span></div>` +
          explanation +
          scoresTable(result) +
          candidatesTable(result, state) +
          judgementsSection(result) +
          `</section>`
        );
      })
      .join('') + pager
  );
}

/** A non-negative integer query parameter, or undefined when absent; anything else is a 400 naming it. */
function keyParameter(parameters: URLSearchParams, name: string): number | undefined {
  const text = parameters.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ViewerRequestError(400, `${name}: expected a non-negative integer, got "${text}"`);
  return value;
}

function tokenEffectsSection(effects: TokenEffect | null, note: string | null): string {
  if (!effects) return note ? `<h2>Output tokens</h2><p class="meta">${escapeHtml(note)}</p>` : '';
  const table = (title: string, rows: TokenEffect['promoted']) =>
    `<table id="${title.startsWith('promoted') ? 'promoted' : 'suppressed'}"><caption>${escapeHtml(title)}</caption><tbody>${rows
      .map(
        (row) =>
          `<tr><td class="tok">${escapeHtml(visibleToken(row.token))}</td><td class="num">${fixed(row.effect, 3)}</td></tr>`,
      )
      .join('')}</tbody></table>`;
  return (
    `<h2>Output tokens</h2><p class="meta">${escapeHtml(effects.description)}</p>` +
    `<div class="tokens-list">${table('promoted most', effects.promoted)}${table('suppressed most', effects.suppressed)}</div>`
  );
}

export async function renderFeaturePage(
  context: ViewerContext,
  featureIdText: string,
  parameters: URLSearchParams,
): Promise<ViewerPage> {
  const featureId = Number(featureIdText);
  const feature = Number.isInteger(featureId) ? viewerFeature(context.db, featureId) : undefined;
  if (!feature) throw new ViewerRequestError(404, `no feature ${featureIdText} in this database`);
  const runText = parameters.get('run');
  const requestedRun = runText === null || runText === '' ? undefined : keyParameter(parameters, 'run');
  const state: FeaturePageState = {
    featureId: feature.featureId,
    shownRun: requestedRun ?? null,
    runsBefore: keyParameter(parameters, 'runs-before'),
    candidatesAfter: keyParameter(parameters, 'candidates-after'),
    recordsAfter: keyParameter(parameters, 'records-after'),
  };
  const { results, olderRuns } = featureAcrossRuns(context.db, feature.featureId, {
    ...(state.runsBefore === undefined ? {} : { beforeRun: state.runsBefore }),
    runs: FEATURE_PAGE_CAPS.runs,
    candidates: FEATURE_PAGE_CAPS.candidates,
    ...(requestedRun !== undefined && state.candidatesAfter !== undefined
      ? { candidatesAfter: { runId: requestedRun, candidate: state.candidatesAfter } }
      : {}),
  });
  if (requestedRun !== undefined) {
    const run = context.db.prepare('SELECT * FROM runs WHERE id = ?').get(requestedRun) as RunRow | undefined;
    if (!run || !featureInRun(context.db, run, feature.featureId, { candidates: 0 }))
      throw new ViewerRequestError(404, `run ${runText} holds nothing about feature ${feature.featureId}`);
  } else state.shownRun = results[0]?.run.id ?? null;
  const shownRun = state.shownRun;
  const records =
    shownRun === null
      ? []
      : featureRecordsInRun(context.db, shownRun, feature.featureId, {
          ...(state.recordsAfter === undefined ? {} : { afterRecord: state.recordsAfter }),
          limit: FEATURE_PAGE_CAPS.records + 1,
        });
  const moreRecords = records.length > FEATURE_PAGE_CAPS.records;
  if (moreRecords) records.length = FEATURE_PAGE_CAPS.records;
  const recordCount = shownRun === null ? 0 : countFeatureRecordsInRun(context.db, shownRun, feature.featureId);
  let scale = 0;
  const activations: number[] = [];
  for (const record of records) {
    for (const value of record.activations) {
      activations.push(value);
      if (value > scale) scale = value;
    }
  }
  const recordsHtml = groupRecords(records)
    .map(
      ({ group, records: list }) =>
        `<h3>${escapeHtml(group)} records (${list.length})</h3>` +
        list
          .map((record) => recordHeatMap(record, scale, `${record.source} · ${record.split} #${record.position}`))
          .join(''),
    )
    .join('');
  const recordsPager =
    `<nav class="pager" aria-label="records">` +
    (state.recordsAfter === undefined
      ? ''
      : `<a href="${featureLink(state, { recordsAfter: undefined })}" id="first-records">« first records</a>`) +
    (moreRecords
      ? `<a href="${featureLink(state, { recordsAfter: records.at(-1)!.id })}" id="more-records" rel="next">more records ›</a>`
      : '') +
    `</nav>`;
  const recordsNote =
    records.length < recordCount
      ? ` Records on this page: ${records.length} of ${recordCount} (the histogram is of these).`
      : '';
  let effects: TokenEffect | null = null;
  let note: string | null = null;
  if (context.models) {
    const answer = await context.models.tokenEffects(context.db, feature);
    effects = answer.effects;
    note = answer.note;
  }
  const steer =
    context.models?.canLoad(feature) === true
      ? `<p><a href="${href('/steer', { feature: feature.featureId })}" id="steer-link">steer the model with this feature</a></p>`
      : '';
  const body =
    `<h1>${escapeHtml(storedFeatureKey(feature))}</h1>` +
    `<p class="meta">max activation ${fixed(feature.maxActivation)} · density ${fixed(feature.density, 4)} · mean ${fixed(feature.mean)} · variance ${fixed(feature.variance)}</p>` +
    steer +
    `<h2>Explanations and scores</h2>${explanationsSection(results, olderRuns, state)}` +
    (shownRun !== null
      ? `<h2>Records of run ${shownRun}</h2><p class="meta">Hover a token (or focus it) for its values; shading: true activation relative to ${fixed(scale, 2)}, simulation out of 10.${escapeHtml(recordsNote)}</p>` +
        (records.length
          ? activationHistogramSvg(activations) + recordsHtml + recordsPager
          : `<p class="meta">No records stored${state.recordsAfter === undefined ? '' : ' after that one'}.</p>${recordsPager}`)
      : '') +
    tokenEffectsSection(effects, note);
  return { title: storedFeatureKey(feature), body };
}
