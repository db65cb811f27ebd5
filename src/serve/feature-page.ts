/**
 * @module serve/feature-page — `/feature/ID[?run=R]`: one feature across runs: every explanation with every score and
 * its reason, what judges answered (the `judgements` table), the records of one run as heat maps of true vs
 * simulated activations grouped top / quantile / random, the histogram of their activations, and for a model the
 * viewer can load, the tokens the feature promotes and suppresses through the unembedding, and a steering form.
 */
import { escapeHtml } from '../report/html-escape.ts';
import { storedFeatureKey } from '../store/queries.ts';
import {
  featureAcrossRuns,
  featureRecordsInRun,
  viewerFeature,
  type FeatureInRun,
  type ViewerFeature,
} from '../store/viewer-queries.ts';
import { activationHistogramSvg, groupRecords, recordHeatMap, visibleToken } from './heat-map.ts';
import { fixed, href } from './html-page.ts';
import type { TokenEffect } from './viewer-models.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

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
function candidatesTable(result: FeatureInRun): string {
  if (result.candidates.length === 0) return '';
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
  return `<h4>Candidate explanations</h4><table class="board candidates"><thead><tr><th>#</th><th>made as</th><th>text</th><th>prompt</th><th>calibration r</th><th>held-out r</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One judge's answers: each example's tokens, the truth, the answer and its probability. */
function judgementsSection(result: FeatureInRun): string {
  return result.judgements
    .map((judgement) => {
      const rows = judgement.examples
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
        `<table class="board judgements"><thead><tr><th>source</th><th>window</th><th>truth</th><th>answer</th><th>p(yes)</th></tr></thead><tbody>${rows}</tbody></table>`
      );
    })
    .join('');
}

function explanationsSection(
  feature: ViewerFeature,
  results: readonly FeatureInRun[],
  shownRun: number | null,
): string {
  if (results.length === 0) return '<p class="meta">No run holds this feature.</p>';
  return results
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
          : ` · <a href="${href(`/feature/${feature.featureId}`, { run: result.run.id })}">show this run's records</a>`;
      return (
        `<section class="card run-result" data-run="${result.run.id}"><div class="card-head"><a href="${href(`/run/${result.run.id}`)}">run ${result.run.id}: ${escapeHtml(result.run.name)}</a> ${status}<span class="meta">${records}</span></div>` +
        explanation +
        scoresTable(result) +
        candidatesTable(result) +
        judgementsSection(result) +
        `</section>`
      );
    })
    .join('');
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
  const results = featureAcrossRuns(context.db, feature.featureId);
  const runText = parameters.get('run');
  let shownRun: number | null = null;
  if (runText !== null && runText !== '') {
    shownRun = Number(runText);
    if (!results.some((result) => result.run.id === shownRun))
      throw new ViewerRequestError(404, `run ${runText} holds nothing about feature ${feature.featureId}`);
  } else shownRun = results[0]?.run.id ?? null;
  const records = shownRun === null ? [] : featureRecordsInRun(context.db, shownRun, feature.featureId);
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
    `<h2>Explanations and scores</h2>${explanationsSection(feature, results, shownRun)}` +
    (shownRun !== null
      ? `<h2>Records of run ${shownRun}</h2><p class="meta">Hover a token (or focus it) for its values; shading: true activation relative to ${fixed(scale, 2)}, simulation out of 10.</p>` +
        (records.length ? activationHistogramSvg(activations) + recordsHtml : '<p class="meta">No records stored.</p>')
      : '') +
    tokenEffectsSection(effects, note);
  return { title: storedFeatureKey(feature), body };
}
