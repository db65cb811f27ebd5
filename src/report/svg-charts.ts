/**
 * @module report/svg-charts — inline SVG for the HTML report (no library, no network): a score histogram and a
 * score vs activation-density scatter. Every label goes through escapeHtml.
 */
import { escapeHtml } from './html-escape.ts';

export interface HistogramOptions {
  title: string;
  /** Score range shown; values outside it are counted in the first or last bin (the caption says how many). */
  low: number;
  high: number;
  bins?: number;
  width?: number;
  height?: number;
}

const round = (x: number) => Math.round(x * 10) / 10;

/** The score range a histogram shows for a score kind: [−1, 1] for correlations, else from the data, at most [−1, 1]. */
export function scoreRange(kind: string, values: readonly number[]): { low: number; high: number } {
  if (kind.startsWith('correlation.')) return { low: -1, high: 1 };
  const min = values.length ? Math.min(...values) : 0;
  return { low: Math.min(0, Math.max(-1, Math.floor(min * 10) / 10)), high: 1 };
}

/** Average advance of a chart-title character (11px, bold, the page's sans-serif), with a margin for wide glyphs. */
const TITLE_CHARACTER_WIDTH = 6.6;
const TITLE_LINE_HEIGHT = 13;
/** Left and right padding of the title and caption lines. */
const HEADER_PADDING = 8;

/**
 * A chart title broken into at most `maxLines` lines of at most `maxCharacters`, at its " · " separators; a line
 * still too long is shortened with "…" (the whole title stays in the chart's tooltip and aria-label).
 */
export function titleLines(title: string, maxCharacters: number, maxLines = 3): string[] {
  const lines: string[] = [];
  for (const part of title.split(' · ')) {
    const last = lines.at(-1);
    if (last !== undefined && (last.length + 3 + part.length <= maxCharacters || lines.length === maxLines))
      lines[lines.length - 1] = `${last} · ${part}`;
    else lines.push(part);
  }
  return lines.map((line) =>
    line.length > maxCharacters ? `${line.slice(0, Math.max(1, maxCharacters - 1))}…` : line,
  );
}

/**
 * Score histogram. The header is the title (one to three lines) and below it the count caption, each on its own
 * line so neither can overlap the other; the plot area keeps its height (`height` is for a one-line title).
 */
export function histogramSvg(values: readonly number[], options: HistogramOptions): string {
  const bins = options.bins ?? 20;
  const { low, high } = options;
  const counts = new Array<number>(bins).fill(0);
  let clipped = 0;
  for (const value of values) {
    const position = (value - low) / (high - low);
    if (position < 0 || position > 1) clipped++;
    counts[Math.min(bins - 1, Math.max(0, Math.floor(position * bins)))]!++;
  }
  return histogramSvgOfCounts(counts, clipped, options);
}

/**
 * The same histogram from its bin counts (`options.bins` of them, over [low, high]) and how many of those values
 * were outside the range: for counts made elsewhere, e.g. in SQL over a million scores (store/viewer-queries).
 */
export function histogramSvgOfCounts(counts: readonly number[], clipped: number, options: HistogramOptions): string {
  const bins = counts.length;
  const width = options.width ?? 360;
  const lines = titleLines(options.title, Math.floor((width - 2 * HEADER_PADDING) / TITLE_CHARACTER_WIDTH));
  const height = (options.height ?? 160) + TITLE_LINE_HEIGHT * (lines.length - 1);
  const captionY = 13 + TITLE_LINE_HEIGHT * lines.length;
  const margin = { left: 34, right: 8, top: captionY + 10, bottom: 26 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const { low, high } = options;
  const total = counts.reduce((sum, count) => sum + count, 0);
  const maxCount = Math.max(1, ...counts);
  const barWidth = plotWidth / bins;
  const bars = counts
    .map((count, i) => {
      const barHeight = (count / maxCount) * plotHeight;
      const from = low + ((high - low) * i) / bins;
      const to = low + ((high - low) * (i + 1)) / bins;
      return `<rect class="bar" x="${(margin.left + i * barWidth + 0.5).toFixed(1)}" y="${(margin.top + plotHeight - barHeight).toFixed(1)}" width="${Math.max(0, barWidth - 1).toFixed(1)}" height="${barHeight.toFixed(1)}"><title>${escapeHtml(`${count} features in [${from.toFixed(2)}, ${to.toFixed(2)})`)}</title></rect>`;
    })
    .join('');
  const xTicks = [low, (low + high) / 2, high]
    .map((tick) => {
      const x = margin.left + ((tick - low) / (high - low)) * plotWidth;
      return `<line class="axis" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight + 4}"/><text class="tick" x="${x.toFixed(1)}" y="${height - 10}" text-anchor="middle">${escapeHtml(round(tick))}</text>`;
    })
    .join('');
  const caption = `${total} scored${clipped ? ` · ${clipped} outside [${low}, ${high}] counted in the end bins` : ''}`;
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">` +
    `<title>${escapeHtml(options.title)}</title>` +
    lines
      .map(
        (line, i) =>
          `<text class="chart-title" x="${HEADER_PADDING}" y="${13 + TITLE_LINE_HEIGHT * i}">${escapeHtml(line)}</text>`,
      )
      .join('') +
    `<text class="caption" x="${HEADER_PADDING}" y="${captionY}">${escapeHtml(caption)}</text>` +
    `<text class="tick" x="${margin.left - 4}" y="${margin.top + 8}" text-anchor="end">${maxCount}</text>` +
    `<text class="tick" x="${margin.left - 4}" y="${margin.top + plotHeight}" text-anchor="end">0</text>` +
    `<line class="axis" x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${margin.top + plotHeight}" y2="${margin.top + plotHeight}"/>` +
    bars +
    xTicks +
    `</svg>`
  );
}

export interface ScatterPoint {
  /** Activation density (fraction of tokens > 0); null or ≤ 0 cannot go on a log axis and is counted instead. */
  density: number | null;
  score: number;
  label: string;
}

/** Above this many points the scatter is drawn as a binned 2-D histogram. */
export const MAX_SCATTER_POINTS = 2000;

/** Score (y) against log10 activation density (x). Points without a usable density are counted in the caption. */
export function densityScatterSvg(
  points: readonly ScatterPoint[],
  options: { title: string; low: number; high: number; width?: number; height?: number },
): string {
  const width = options.width ?? 560;
  const height = options.height ?? 260;
  const margin = { left: 40, right: 12, top: 38, bottom: 34 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const usable = points.filter((p): p is ScatterPoint & { density: number } => p.density !== null && p.density > 0);
  const missing = points.length - usable.length;
  const logs = usable.map((p) => Math.log10(p.density));
  const xLow = logs.length ? Math.floor(Math.min(...logs)) : -4;
  const xHigh = logs.length ? Math.max(xLow + 1, Math.ceil(Math.max(...logs))) : 0;
  const x = (log: number) => margin.left + ((log - xLow) / (xHigh - xLow)) * plotWidth;
  const y = (score: number) =>
    margin.top +
    (1 - (Math.min(options.high, Math.max(options.low, score)) - options.low) / (options.high - options.low)) *
      plotHeight;
  let dots: string;
  if (usable.length <= MAX_SCATTER_POINTS) {
    dots = usable
      .map(
        (p, i) =>
          `<circle class="dot" cx="${x(logs[i]!).toFixed(1)}" cy="${y(p.score).toFixed(1)}" r="3"><title>${escapeHtml(`${p.label}: score ${p.score.toFixed(3)}, density ${p.density.toPrecision(3)}`)}</title></circle>`,
      )
      .join('');
  } else {
    // Many points: a 2-D histogram (cells shaded by count) draws faster and shows density where dots would overplot.
    const columns = 70;
    const rows = 36;
    const counts = new Map<number, number>();
    usable.forEach((p, i) => {
      const column = Math.min(columns - 1, Math.floor(((logs[i]! - xLow) / (xHigh - xLow)) * columns));
      const row = Math.min(
        rows - 1,
        Math.max(
          0,
          Math.floor(
            ((options.high - Math.min(options.high, Math.max(options.low, p.score))) / (options.high - options.low)) *
              rows,
          ),
        ),
      );
      counts.set(row * columns + column, (counts.get(row * columns + column) ?? 0) + 1);
    });
    const most = Math.max(...counts.values());
    const cellWidth = plotWidth / columns;
    const cellHeight = plotHeight / rows;
    dots = [...counts]
      .map(([cell, count]) => {
        const column = cell % columns;
        const row = Math.floor(cell / columns);
        const opacity = 0.15 + 0.85 * (Math.log1p(count) / Math.log1p(most));
        return `<rect class="cell" x="${(margin.left + column * cellWidth).toFixed(1)}" y="${(margin.top + row * cellHeight).toFixed(1)}" width="${cellWidth.toFixed(1)}" height="${cellHeight.toFixed(1)}" fill-opacity="${opacity.toFixed(2)}"><title>${count}</title></rect>`;
      })
      .join('');
  }
  const xTicks: string[] = [];
  for (let power = xLow; power <= xHigh; power++) {
    xTicks.push(
      `<line class="grid" x1="${x(power).toFixed(1)}" x2="${x(power).toFixed(1)}" y1="${margin.top}" y2="${margin.top + plotHeight}"/>` +
        `<text class="tick" x="${x(power).toFixed(1)}" y="${margin.top + plotHeight + 14}" text-anchor="middle">${escapeHtml(`1e${power}`)}</text>`,
    );
  }
  const yTicks = [options.low, (options.low + options.high) / 2, options.high]
    .map(
      (tick) =>
        `<line class="grid" x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/><text class="tick" x="${margin.left - 4}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(round(tick))}</text>`,
    )
    .join('');
  const caption = `${usable.length} features${usable.length > MAX_SCATTER_POINTS ? ' (binned)' : ''}${missing ? ` · ${missing} without a density (imported records) or never active, not shown` : ''}`;
  return (
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(options.title)}">` +
    `<text class="chart-title" x="${margin.left}" y="14">${escapeHtml(options.title)}</text>` +
    `<text class="caption" x="${margin.left}" y="${14 + TITLE_LINE_HEIGHT}">${escapeHtml(caption)}</text>` +
    xTicks.join('') +
    yTicks +
    dots +
    `<text class="tick" x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle">activation density (fraction of tokens &gt; 0, log scale)</text>` +
    `</svg>`
  );
}
