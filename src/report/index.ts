/** @module report — leaderboards, compare / regress statistics, the HTML report and exports, with their formatting. */
export * from './bootstrap.ts';
export * from './leaderboard.ts';
export * from './format-leaderboard.ts';
export * from './run-selection.ts';
export * from './compare.ts';
export * from './regress.ts';
export * from './format-compare.ts';
export * from './report-data.ts';
export * from './html-report.ts';
export * from './export.ts';
export { headlineKind, scoreFamily, scorerColumnKinds } from './score-families.ts';
export { escapeHtml, jsonForScriptBlock } from './html-escape.ts';
export { toCsv, csvCell } from './csv.ts';
