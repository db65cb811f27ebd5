/**
 * @module llm/context-windows — how many tokens (prompt + completion) a model takes in one call, from
 * data/context-windows.json (keyed by `provider:model`, or `provider:*`), for the simulation call budget. A model
 * the table does not know gets DEFAULT_CONTEXT_TOKENS (llm/default-context-tokens.ts), small enough for the servers people run locally.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_CONTEXT_TOKENS } from './default-context-tokens.ts';

export const defaultContextWindowsPath = fileURLToPath(new URL('../../data/context-windows.json', import.meta.url));

const ContextWindowFileSchema = z.object({ contextTokens: z.record(z.string(), z.number().int().positive()) });

let bundled: Record<string, number> | undefined;

function bundledTable(): Record<string, number> {
  if (!bundled) {
    const parsed = ContextWindowFileSchema.safeParse(JSON.parse(readFileSync(defaultContextWindowsPath, 'utf8')));
    if (!parsed.success)
      throw new Error(
        `${defaultContextWindowsPath}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`,
      );
    bundled = parsed.data.contextTokens;
  }
  return bundled;
}

/** The context window of a provider id (`provider:model`): its table entry, its provider's `provider:*` entry, or the default. */
export function contextTokensOf(providerId: string, table: Record<string, number> = bundledTable()): number {
  const exact = table[providerId];
  if (exact !== undefined) return exact;
  const colon = providerId.indexOf(':');
  return (colon < 0 ? undefined : table[`${providerId.slice(0, colon)}:*`]) ?? DEFAULT_CONTEXT_TOKENS;
}
