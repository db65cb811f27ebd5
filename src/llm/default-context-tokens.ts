/**
 * @module llm/default-context-tokens — the context window assumed for a model that data/context-windows.json does not
 * list (llm/context-windows.ts). Apart from that module (zod) so that `autointerp --help` states it without loading zod.
 */

/** The context assumed for a model the table does not list (Llama 3's 8K; a smaller server needs --context-tokens). */
export const DEFAULT_CONTEXT_TOKENS = 8192;
