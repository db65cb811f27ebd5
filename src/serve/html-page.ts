/**
 * @module serve/html-page — the viewer's page frame (head, navigation, style, the one small inline script) and the
 * helpers every page uses to write HTML: text always goes through report/html-escape, numbers through `fixed`,
 * links through `href` (query values URL-encoded, then escaped for the attribute).
 */
import { createHash } from 'node:crypto';
import { escapeHtml } from '../report/html-escape.ts';
import { REPORT_STYLE } from '../report/report-assets.ts';

/** The viewer's own style, on top of the HTML report's (tables, charts, heat-map panes). */
const VIEWER_STYLE = `
nav.top { display: flex; gap: 16px; align-items: baseline; padding: 10px 24px; border-bottom: 1px solid var(--line); background: var(--soft); }
nav.top a { color: var(--accent); text-decoration: none; font-weight: 600; }
nav.top a:hover, nav.top a:focus { text-decoration: underline; }
nav.top .brand { color: var(--fg); }
nav.top .db { margin-left: auto; color: var(--muted); font-size: 12px; }
a { color: var(--accent); }
.explain-cell { min-width: 200px; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 12px 0; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form.filters input, form.filters select, form.filters textarea { padding: 5px 8px; font-size: 14px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
form.filters input[type=search] { min-width: 260px; }
form.filters button { padding: 6px 14px; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
.pager { display: flex; gap: 12px; margin: 12px 0; }
.pager a { padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; }
.tabs { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.tabs a { padding: 2px 10px; border: 1px solid var(--line); border-radius: 12px; text-decoration: none; font-size: 13px; }
.tabs a[aria-current=page] { background: var(--accent); color: #fff; border-color: var(--accent); }
pre.config { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px; overflow: auto; max-height: 360px; }
#token-detail:empty { display: none; }
#token-detail { position: sticky; bottom: 0; background: var(--soft); border-top: 1px solid var(--line); padding: 4px 8px; font-family: ui-monospace, monospace; font-size: 12px; min-height: 1.6em; }
.tokens-list { display: flex; gap: 24px; flex-wrap: wrap; }
.tokens-list table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 12px; }
.tokens-list td { padding: 1px 8px; border-bottom: 1px solid var(--line); }
.generation { white-space: pre-wrap; font-family: ui-monospace, monospace; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.judgement.wrong { color: #cf222e; }
td.bad { color: #cf222e; font-weight: 600; }
td.good { color: #1a7f37; }
`;

/**
 * The only script: "/" focuses the search box, and the token under the pointer (or keyboard focus) is described in
 * the bar at the bottom of the page. Served inline under a Content-Security-Policy that allows this script alone.
 */
const VIEWER_SCRIPT = `(function () {
  var detail = document.getElementById('token-detail');
  function describe(event) {
    var token = event.target.closest ? event.target.closest('.tok') : null;
    if (token && detail) detail.textContent = token.getAttribute('title');
  }
  document.addEventListener('mouseover', describe);
  document.addEventListener('focusin', describe);
  document.addEventListener('keydown', function (event) {
    var target = event.target, box = document.getElementById('q');
    if (event.key === '/' && box && !/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { event.preventDefault(); box.focus(); }
  });
})();`;

/** The Content-Security-Policy of every page: nothing from anywhere but this server, and only the script above. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${createHash('sha256').update(VIEWER_SCRIPT).digest('base64')}'`,
  "img-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface PageFrame {
  title: string;
  /** The database file shown in the navigation bar. */
  databaseLabel: string;
  body: string;
  /** Reload after this many seconds (`<meta http-equiv="refresh">`: no script). */
  refreshSeconds?: number;
}

/** A whole HTML document around `body` (already HTML). */
export function renderPage(frame: PageFrame): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(frame.title)} · autointerp</title>${frame.refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${frame.refreshSeconds}">`}
<link rel="icon" href="data:,">
<style>${REPORT_STYLE}${VIEWER_STYLE}</style></head>
<body>
<nav class="top" aria-label="main"><a class="brand" href="/">autointerp</a><a href="/">Runs</a><a href="/search">Search</a><a href="/compare">Compare</a><span class="db">read-only · ${escapeHtml(frame.databaseLabel)}</span></nav>
<main>
${frame.body}
</main>
<div id="token-detail" aria-live="polite"></div>
<script>${VIEWER_SCRIPT}</script>
</body></html>`;
}

/** A path with query parameters (undefined and '' left out), escaped for an attribute value. */
export function href(path: string, parameters: Record<string, string | number | undefined | null> = {}): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters))
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  const text = query.toString();
  return escapeHtml(text ? `${path}?${text}` : path);
}

/** A number with `digits` decimals, '—' for null. */
export const fixed = (value: number | null | undefined, digits = 3): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);

export const percent = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : `${Math.round(value * 100)}%`;

/** `<option>`s of `values`, `selected` marked; the first option is `any` with value ''. */
export function options(values: readonly string[], selected: string | undefined, any = 'any'): string {
  return [
    `<option value=""${selected ? '' : ' selected'}>${escapeHtml(any)}</option>`,
    ...values.map(
      (value) =>
        `<option value="${escapeHtml(value)}"${value === selected ? ' selected' : ''}>${escapeHtml(value)}</option>`,
    ),
  ].join('');
}
