/**
 * @module serve/heat-map — a record as two rows of tokens, true activations and simulated ones side by side, shaded
 * by value (the HTML report's panes, rendered on the server): each token's title holds its text (as a JSON string,
 * so control characters show as escapes) and both values, which the page's bar shows on hover or focus. Token text
 * is untrusted: control characters become visible symbols, then everything is escaped.
 */
import { escapeHtml } from '../report/html-escape.ts';
import type { ViewerRecord } from '../store/viewer-queries.ts';
import { fixed } from './html-page.ts';

/** A token as shown: newline ↵, tab →, the empty token ∅, other control characters as their \u escape. */
export function visibleToken(token: string): string {
  if (token === '') return '\u2205';
  return token
    .replace(/\n/g, '\u21b5')
    .replace(/\t/g, '\u2192')
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Both panes of one record; `scale` is the largest true activation shaded at full strength. */
export function recordHeatMap(record: ViewerRecord, scale: number, label: string): string {
  const simulated = record.expected !== null;
  const pane = (title: string, showSimulated: boolean) => {
    const tokens = record.tokens
      .map((token, position) => {
        const actual = record.activations[position] ?? 0;
        const expected = record.expected?.[position] ?? null;
        const simulatedText = !simulated ? 'not simulated' : expected === null ? 'missing' : fixed(expected, 2);
        const detail = `${JSON.stringify(token)} · true ${fixed(actual, 3)} · simulated ${simulatedText}`;
        const strength = showSimulated
          ? expected === null
            ? 0
            : Math.min(1, Math.max(0, expected / 10))
          : scale > 0
            ? Math.min(1, Math.max(0, actual / scale))
            : 0;
        const missing = showSimulated && simulated && expected === null;
        const style = strength > 0 ? ` style="background-color: rgba(234, 88, 12, ${strength.toFixed(3)})"` : '';
        return `<span class="tok${missing ? ' missing' : ''}" title="${escapeHtml(detail)}" data-true="${escapeHtml(fixed(actual, 4))}" data-simulated="${escapeHtml(simulated && expected !== null ? fixed(expected, 4) : '')}"${style}>${escapeHtml(visibleToken(token))}</span>`;
      })
      .join('');
    return `<div class="pane"><div class="pane-label">${escapeHtml(title)}</div><div class="tokens">${tokens}</div></div>`;
  };
  return (
    `<div class="record"><div class="record-label">${escapeHtml(label)}${simulated ? '' : ' (not simulated)'}</div>` +
    `<div class="pair">${pane(`true activations (shaded to ${fixed(scale, 2)})`, false)}${pane('simulated from the explanation (0–10)', true)}</div></div>`
  );
}

/** Groups records as the page shows them: top, then quantiles in order, then random, then anything else. */
export function groupRecords(records: readonly ViewerRecord[]): { group: string; records: ViewerRecord[] }[] {
  const rank = (source: string) => {
    if (source === 'top') return [0, 0];
    const quantile = /^quantile-(\d+)$/.exec(source);
    if (quantile) return [1, Number(quantile[1])];
    if (source === 'random') return [2, 0];
    return [3, 0];
  };
  const groups = new Map<string, ViewerRecord[]>();
  for (const record of records) {
    const group = record.source.startsWith('quantile-') ? 'quantile' : record.source;
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    list.push(record);
  }
  for (const list of groups.values())
    list.sort((a, b) => {
      const [x1, x2] = rank(a.source);
      const [y1, y2] = rank(b.source);
      return x1! - y1! || x2! - y2! || a.split.localeCompare(b.split) || a.position - b.position;
    });
  return [...groups]
    .map(([group, list]) => ({ group, records: list }))
    .sort((a, b) => rank(a.records[0]!.source)[0]! - rank(b.records[0]!.source)[0]!);
}

/** Bars of a histogram of the activations of all tokens of the records (counts on a log scale), as inline SVG. */
export function activationHistogramSvg(values: readonly number[], bins = 30): string {
  const width = 420;
  const height = 150;
  const margin = { left: 34, right: 8, top: 22, bottom: 24 };
  let low = 0;
  let high = 0;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  if (high === low) high = low + 1;
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.floor(((value - low) / (high - low)) * bins))]!++;
  const logMax = Math.log10(1 + Math.max(1, ...counts));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const barWidth = plotWidth / bins;
  const bars = counts
    .map((count, i) => {
      const barHeight = (Math.log10(1 + count) / logMax) * plotHeight;
      const from = low + ((high - low) * i) / bins;
      const to = low + ((high - low) * (i + 1)) / bins;
      return `<rect class="bar" x="${(margin.left + i * barWidth + 0.5).toFixed(1)}" y="${(margin.top + plotHeight - barHeight).toFixed(1)}" width="${Math.max(0, barWidth - 1).toFixed(1)}" height="${barHeight.toFixed(1)}"><title>${escapeHtml(`${count} tokens in [${fixed(from, 3)}, ${fixed(to, 3)})`)}</title></rect>`;
    })
    .join('');
  const positive = values.filter((value) => value > 0).length;
  const title = `activations of ${values.length} tokens (${values.length ? fixed((100 * positive) / values.length, 1) : '—'}% > 0) · log counts`;
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text class="chart-title" x="8" y="14">${escapeHtml(title)}</text>` +
    `<line class="axis" x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}"/>` +
    bars +
    `<text class="tick" x="${margin.left}" y="${height - 8}">${escapeHtml(fixed(low, 2))}</text>` +
    `<text class="tick" x="${margin.left + plotWidth}" y="${height - 8}" text-anchor="end">${escapeHtml(fixed(high, 2))}</text>` +
    `</svg>`
  );
}
