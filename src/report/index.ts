/** @module report — leaderboards and their formatting. */
export * from './bootstrap.ts';
export * from './leaderboard.ts';
export * from './format-leaderboard.ts';
