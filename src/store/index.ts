/** @module store — SQLite schema, migrations and typed queries. */
export * from './database.ts';
export * from './result-store.ts';
export * from './batch-store.ts';
export * from './sae-store.ts';
export * from './merge.ts';
export * from './merge-error.ts';
export * from './run-lease.ts';
export * from './operational-config-keys.ts';
