/**
 * @module serve/search-page — `/search`: a run's features by explanation words, layer, feature kind, SAE and score
 * range, sorted by any score kind (or by feature), a page at a time. The "next" link carries the last row's sort key
 * (`after=VALUE:FEATURE`), the "previous" link the first row's (`before=VALUE:FEATURE`), so every page is a seek in an
 * index whatever its depth, and every page is a plain URL.
 * Query parameters: run, q, layer, feature-kind, sae, score, min, max, sort (score-desc | score-asc | feature),
 * after or before, limit.
 */
import { escapeHtml } from '../report/html-escape.ts';
import { resolveRun, scoreKindsOfRun, storedFeatureKey } from '../store/queries.ts';
import {
  featureFacets,
  runChoices,
  SEARCH_SORTS,
  searchFeatures,
  type FeatureSearch,
  type SearchCursor,
  type SearchSort,
} from '../store/viewer-queries.ts';
import { fixed, href, options } from './html-page.ts';
import { ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** A score as `formatCursor` writes one (JavaScript's shortest form of a finite number). */
const CURSOR_VALUE = /^-?\d+(\.\d+)?(e[+-]\d+)?$/;
/** A feature id: digits only (no sign, exponent, hexadecimal or spaces). */
const CURSOR_FEATURE = /^\d+$/;

/**
 * `VALUE:FEATURE` (score sorts) or `FEATURE` (feature order) → the cursor; a malformed one is a 400: the feature must
 * be digits and a safe integer, the value a finite number written as a number.
 */
export function parseCursor(text: string, sort: SearchSort, parameter = 'after'): SearchCursor {
  const parts = text.split(':');
  const expected = sort === 'feature' ? 'FEATURE' : 'VALUE:FEATURE';
  const featureText = parts.at(-1)!;
  const valueText = parts.length === 2 ? parts[0]! : null;
  const featureId = Number(featureText);
  const value = valueText === null ? null : Number(valueText);
  const valid =
    CURSOR_FEATURE.test(featureText) &&
    Number.isSafeInteger(featureId) &&
    (sort === 'feature'
      ? parts.length === 1
      : valueText !== null && CURSOR_VALUE.test(valueText) && Number.isFinite(value));
  if (!valid) {
    const featureProblem =
      CURSOR_FEATURE.test(featureText) && !Number.isSafeInteger(featureId) ? ' (FEATURE beyond safe integers)' : '';
    throw new ViewerRequestError(400, `${parameter}: expected ${expected}${featureProblem}, got "${text}"`);
  }
  return { value, featureId };
}

export const formatCursor = (cursor: SearchCursor): string =>
  cursor.value === null ? String(cursor.featureId) : `${cursor.value}:${cursor.featureId}`;

function numberParameter(parameters: URLSearchParams, name: string): number | undefined {
  const text = parameters.get(name);
  if (text === null || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ViewerRequestError(400, `${name}: expected a number, got "${text}"`);
  return value;
}

const textParameter = (parameters: URLSearchParams, name: string) => {
  const value = parameters.get(name);
  return value === null || value === '' ? undefined : value;
};

export function renderSearchPage(context: ViewerContext, parameters: URLSearchParams): ViewerPage {
  const runReference = textParameter(parameters, 'run') ?? 'latest';
  const run = resolveRun(context.db, runReference);
  if (!run) {
    if (runReference === 'latest') return { title: 'Search', body: '<h1>Search</h1><p class="meta">No runs yet.</p>' };
    throw new ViewerRequestError(404, `no run "${runReference}" in this database`);
  }
  const kinds = context.cache.get(`kinds:${run.id}`, () => scoreKindsOfRun(context.db, run.id));
  const scoreKind =
    textParameter(parameters, 'score') ??
    (kinds.includes('correlation.all') ? 'correlation.all' : (kinds[0] ?? 'correlation.all'));
  const sortText = textParameter(parameters, 'sort') ?? 'score-desc';
  if (!SEARCH_SORTS.includes(sortText as SearchSort))
    throw new ViewerRequestError(400, `sort: expected one of ${SEARCH_SORTS.join(', ')}, got "${sortText}"`);
  const sort = sortText as SearchSort;
  const limit = numberParameter(parameters, 'limit') ?? DEFAULT_PAGE_SIZE;
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE))
    throw new ViewerRequestError(
      400,
      `limit: expected an integer from 1 to ${MAX_PAGE_SIZE}, got "${parameters.get('limit')}"`,
    );
  const afterText = textParameter(parameters, 'after');
  const beforeText = textParameter(parameters, 'before');
  if (afterText !== undefined && beforeText !== undefined)
    throw new ViewerRequestError(
      400,
      'after and before: give one of them (the page after a row, or the page before it)',
    );
  const search: FeatureSearch = {
    runId: run.id,
    scoreKind,
    sort,
    limit,
    ...(textParameter(parameters, 'q') !== undefined ? { text: textParameter(parameters, 'q')! } : {}),
    ...(textParameter(parameters, 'layer') !== undefined ? { layer: textParameter(parameters, 'layer')! } : {}),
    ...(textParameter(parameters, 'feature-kind') !== undefined
      ? { featureKind: textParameter(parameters, 'feature-kind')! }
      : {}),
    ...(textParameter(parameters, 'sae') !== undefined ? { sae: textParameter(parameters, 'sae')! } : {}),
    ...(numberParameter(parameters, 'min') !== undefined ? { minScore: numberParameter(parameters, 'min')! } : {}),
    ...(numberParameter(parameters, 'max') !== undefined ? { maxScore: numberParameter(parameters, 'max')! } : {}),
    ...(afterText !== undefined ? { after: parseCursor(afterText, sort) } : {}),
    ...(beforeText !== undefined ? { before: parseCursor(beforeText, sort, 'before') } : {}),
  };
  const result = searchFeatures(context.db, search);
  const facets = context.cache.get('facets', () => featureFacets(context.db));
  const runs = context.cache.get('run-choices', () =>
    runChoices(context.db).map((row) => ({ value: String(row.id), label: `${row.id}: ${row.name}` })),
  );
  const current = (name: string) => parameters.get(name) ?? '';
  const form =
    `<form class="filters" method="get" action="/search" role="search">` +
    `<label>explanation words<input type="search" id="q" name="q" value="${escapeHtml(current('q'))}" placeholder="press / to search" autofocus></label>` +
    `<label>run<select name="run">${runs.map((choice) => `<option value="${escapeHtml(choice.value)}"${choice.value === String(run.id) ? ' selected' : ''}>${escapeHtml(choice.label)}</option>`).join('')}</select></label>` +
    `<label>layer<select name="layer">${options(facets.layers, search.layer)}</select></label>` +
    `<label>feature kind<select name="feature-kind">${options(facets.featureKinds, search.featureKind)}</select></label>` +
    `<label>SAE<select name="sae">${options(facets.saes, search.sae)}</select></label>` +
    `<label>score<select name="score" id="score">${kinds.map((kind) => `<option${kind === scoreKind ? ' selected' : ''}>${escapeHtml(kind)}</option>`).join('')}</select></label>` +
    `<label>min<input type="number" step="any" name="min" value="${escapeHtml(current('min'))}" size="6"></label>` +
    `<label>max<input type="number" step="any" name="max" value="${escapeHtml(current('max'))}" size="6"></label>` +
    `<label>sort<select name="sort" id="sort">${[
      ['score-desc', 'score, highest first'],
      ['score-asc', 'score, lowest first'],
      ['feature', 'feature'],
    ]
      .map(([value, label]) => `<option value="${value}"${value === sort ? ' selected' : ''}>${label}</option>`)
      .join('')}</select></label>` +
    `<button type="submit">Search</button></form>`;
  const sameSearch = (extra: Record<string, string | undefined>) => {
    const kept: Record<string, string | undefined> = {};
    for (const name of ['run', 'q', 'layer', 'feature-kind', 'sae', 'score', 'min', 'max', 'sort', 'limit'])
      kept[name] = parameters.get(name) ?? undefined;
    return href('/search', { ...kept, run: String(run.id), ...extra });
  };
  const sortLink = (label: string, target: SearchSort) =>
    `<a href="${sameSearch({ sort: target })}"${sort === target ? ' aria-current="true"' : ''}>${escapeHtml(label)}</a>`;
  const rows = result.rows
    .map(
      (row) =>
        `<tr><td><a href="${href(`/feature/${row.featureId}`, { run: run.id })}">${escapeHtml(storedFeatureKey(row))}</a></td>` +
        `<td>${escapeHtml(row.layer)}</td><td>${escapeHtml(row.sae ? `${row.kind} ${row.sae}` : row.kind)}</td>` +
        `<td class="num">${fixed(row.value)}</td><td class="explain-cell">${escapeHtml(row.explanation ?? '')}</td></tr>`,
    )
    .join('');
  const table = result.rows.length
    ? `<table class="board" id="results"><thead><tr><th>${sortLink('feature', 'feature')}</th><th>layer</th><th>kind</th><th>${escapeHtml(scoreKind)} ${sortLink('▼', 'score-desc')} ${sortLink('▲', 'score-asc')}</th><th>explanation</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="meta" id="no-results">No features match.</p>';
  const pager =
    `<nav class="pager" aria-label="pages">` +
    (result.previous
      ? `<a href="${sameSearch({})}" id="first-page">« first page</a>` +
        `<a href="${sameSearch({ before: formatCursor(result.previous) })}" id="previous-page" rel="prev">‹ previous page</a>`
      : '') +
    (result.next
      ? `<a href="${sameSearch({ after: formatCursor(result.next) })}" id="next-page" rel="next">next page ›</a>`
      : '') +
    `</nav>`;
  const note =
    sort === 'feature'
      ? ''
      : `<p class="meta">Sorted by ${escapeHtml(scoreKind)}; features whose score is undefined are listed only when sorting by feature.</p>`;
  return {
    title: search.text ? `Search: ${search.text}` : 'Search',
    body: `<h1>Search run ${run.id}: ${escapeHtml(run.name)}</h1>${form}${note}${table}${pager}`,
  };
}
