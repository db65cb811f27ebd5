/**
 * @module serve/compare-page — `/compare?a=RUN&b=RUN&score=KIND`: two runs paired on the features both scored, with
 * the statistics of `autointerp compare` (report/compare: mean difference b − a with its paired-bootstrap CI,
 * overall and per layer), the regressions first, then the improvements, the features that could not be paired and
 * the warnings when the runs measured differently. Cached until the database changes.
 */
import { compareRuns, type Comparison, type PairedFeature } from '../report/compare.ts';
import { describeUnpaired } from '../report/format-compare.ts';
import { escapeHtml } from '../report/html-escape.ts';
import { resolveRun, scoreKindsOfRun } from '../store/queries.ts';
import { featureIdOf, runChoices } from '../store/viewer-queries.ts';
import { fixed, href } from './html-page.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

/** How many regressions and improvements the page lists. */
const LISTED = 25;

function runSelect(context: ViewerContext, name: string, selected: string | null): string {
  const runs = runChoices(context.db);
  return `<select name="${name}" id="run-${name}"><option value="">choose a run</option>${runs
    .map(
      (run) =>
        `<option value="${run.id}"${String(run.id) === selected ? ' selected' : ''}>${escapeHtml(`${run.id}: ${run.name}`)}</option>`,
    )
    .join('')}</select>`;
}

function pairsTable(id: string, pairs: readonly PairedFeature[], featureIds: Map<string, number>): string {
  if (pairs.length === 0) return '<p class="meta">None.</p>';
  return `<table class="board" id="${id}"><thead><tr><th>feature</th><th>a</th><th>b</th><th>b − a</th><th>explanation in a</th><th>explanation in b</th></tr></thead><tbody>${pairs
    .map((pair) => {
      const featureId = featureIds.get(pair.featureKey);
      const name = escapeHtml(pair.featureKey);
      return (
        `<tr><td>${featureId === undefined ? name : `<a href="${href(`/feature/${featureId}`)}">${name}</a>`}</td>` +
        `<td class="num">${fixed(pair.baseline)}</td><td class="num">${fixed(pair.candidate)}</td>` +
        `<td class="num ${pair.difference < 0 ? 'bad' : pair.difference > 0 ? 'good' : ''}">${fixed(pair.difference)}</td>` +
        `<td class="explain-cell">${escapeHtml(pair.baselineExplanation ?? '')}</td><td class="explain-cell">${escapeHtml(pair.candidateExplanation ?? '')}</td></tr>`
      );
    })
    .join('')}</tbody></table>`;
}

/** Feature ids of the listed pairs (compare reports feature keys), one indexed lookup each. */
function featureIdsOf(context: ViewerContext, comparison: Comparison): Map<string, number> {
  const ids = new Map<string, number>();
  for (const pair of [...comparison.mostWorsened, ...comparison.mostImproved]) {
    const id = featureIdOf(context.db, { ...pair, kind: pair.featureKind });
    if (id !== undefined) ids.set(pair.featureKey, id);
  }
  return ids;
}

export function renderComparePage(context: ViewerContext, parameters: URLSearchParams): ViewerPage {
  const a = parameters.get('a') || null;
  const b = parameters.get('b') || null;
  const requestedKind = parameters.get('score') || null;
  const baseline = a === null ? undefined : resolveRun(context.db, a);
  const candidate = b === null ? undefined : resolveRun(context.db, b);
  if (a !== null && !baseline) throw new ViewerRequestError(404, `a: no run "${a}" in this database`);
  if (b !== null && !candidate) throw new ViewerRequestError(404, `b: no run "${b}" in this database`);
  const kinds = baseline
    ? context.cache.get(`kinds:${baseline.id}`, () => scoreKindsOfRun(context.db, baseline.id))
    : [];
  const scoreKind = requestedKind ?? 'correlation.all';
  const form =
    `<form class="filters" method="get" action="/compare"><label>run a (baseline)${runSelect(context, 'a', baseline ? String(baseline.id) : null)}</label>` +
    `<label>run b (candidate)${runSelect(context, 'b', candidate ? String(candidate.id) : null)}</label>` +
    `<label>score<select name="score">${(kinds.length ? kinds : [scoreKind])
      .map((kind) => `<option${kind === scoreKind ? ' selected' : ''}>${escapeHtml(kind)}</option>`)
      .join('')}</select></label><button type="submit">Compare</button></form>`;
  if (!baseline || !candidate)
    return {
      title: 'Compare',
      body: `<h1>Compare two runs</h1>${form}<p class="meta">Choose two runs of the same features.</p>`,
    };
  let comparison: Comparison;
  try {
    comparison = context.cache.get(`compare:${baseline.id}:${candidate.id}:${scoreKind}`, () =>
      compareRuns(context.db, baseline, candidate, { scoreKind, top: LISTED }),
    );
  } catch (error) {
    // ComparisonError: an unknown kind or nothing paired, said in one line
    throw new ViewerRequestError(400, (error as Error).message);
  }
  const ids = featureIdsOf(context, comparison);
  const interval = (low: number | null | undefined, high: number | null | undefined) =>
    low === null || low === undefined ? '—' : `[${fixed(low)}, ${fixed(high)}]`;
  const layers = comparison.layers
    .map(
      (layer) =>
        `<tr><td>${escapeHtml(layer.model)}</td><td>${escapeHtml(layer.layer)}</td><td>${escapeHtml(layer.sae ? `${layer.featureKind} ${layer.sae}` : layer.featureKind)}</td>` +
        `<td class="num">${layer.n}</td><td class="num ${layer.meanDifference < 0 ? 'bad' : layer.meanDifference > 0 ? 'good' : ''}">${fixed(layer.meanDifference)}</td><td class="num">${escapeHtml(interval(layer.ci?.low, layer.ci?.high))}</td></tr>`,
    )
    .join('');
  const overall = comparison.overall;
  const body =
    `<h1>Compare run ${baseline.id} → run ${candidate.id}</h1>${form}` +
    comparison.warnings.map((warning) => `<p class="baseline-banner">${escapeHtml(warning.message)}</p>`).join('') +
    `<p class="meta" id="overall">${escapeHtml(comparison.scoreKind)}: ${comparison.paired} features paired of ${comparison.features} · mean difference b − a <b>${fixed(overall.meanDifference)}</b> · ${Math.round(comparison.bootstrap.level * 100)}% CI ${escapeHtml(interval(overall.ci?.low, overall.ci?.high))} (paired bootstrap, ${comparison.bootstrap.resamples} resamples)</p>` +
    `<h2>Per layer</h2><table class="board" id="layers"><thead><tr><th>model</th><th>layer</th><th>kind</th><th>paired</th><th>b − a</th><th>CI</th></tr></thead><tbody>${layers}</tbody></table>` +
    `<h2>Regressions (largest drop first)</h2>${pairsTable('regressions', comparison.mostWorsened, ids)}` +
    `<h2>Improvements</h2>${pairsTable('improvements', comparison.mostImproved, ids)}` +
    (comparison.unpaired.length
      ? `<h2>Not paired</h2><ul>${comparison.unpaired.map((entry) => `<li>${escapeHtml(describeUnpaired(entry))}</li>`).join('')}</ul>`
      : '');
  return { title: `Compare ${baseline.id} → ${candidate.id}`, body };
}
