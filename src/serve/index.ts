/** @module serve — the read-only local viewer over a results database (`autointerp serve`). */
export * from './viewer-server.ts';
export { ViewerModels } from './viewer-models.ts';
