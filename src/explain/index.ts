/** @module explain — explain prompt building and explanation parsing. */
export * from './build-explain-prompt.ts';
export * from './parse-explanation.ts';
