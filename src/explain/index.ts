/** @module explain — the explain prompt file, explain prompt building and explanation parsing. */
export * from './build-explain-prompt.ts';
export * from './parse-explanation.ts';
export * from './explain-template.ts';
export * from './build-revise-prompt.ts';
export * from './revise-template.ts';
export * from './contrast-windows.ts';
