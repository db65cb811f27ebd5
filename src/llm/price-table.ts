/**
 * @module llm/price-table — token prices in USD per million tokens, keyed by `provider:model` (or `provider:*`),
 * from data/prices.json, with a user file (`--prices FILE`) merged over it; and the cost of one call from them
 * (live, cached = 0, or batch = the batch price, half the live one unless the entry sets `batch…PerMillion`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { LlmUsage } from './types.ts';
import { InputError } from '../common/errors.ts';

export const defaultPricesPath = fileURLToPath(new URL('../../data/prices.json', import.meta.url));

/** Batch APIs (OpenAI Batch, Anthropic Message Batches) charge half the live price unless an entry says otherwise. */
export const DEFAULT_BATCH_PRICE_FACTOR = 0.5;

const PriceSchema = z.object({
  inputPerMillion: z.number().nonnegative(),
  outputPerMillion: z.number().nonnegative(),
  /** Prices of batch answers; default: DEFAULT_BATCH_PRICE_FACTOR × the live ones. */
  batchInputPerMillion: z.number().nonnegative().optional(),
  batchOutputPerMillion: z.number().nonnegative().optional(),
});
export type Price = z.infer<typeof PriceSchema>;
export const PriceFileSchema = z.object({ prices: z.record(z.string(), PriceSchema) });

export interface PriceTable {
  /** The price of a provider id, or undefined when the table has none. */
  priceOf(providerId: string): Price | undefined;
  /**
   * Cost of one call in USD; null when the price is unknown; 0 for cached answers; at the batch price (by default
   * half) for answers that came from a Batch API.
   */
  costOf(providerId: string, usage: LlmUsage, cached?: boolean, batch?: boolean): number | null;
}

function readPriceFile(path: string): Record<string, Price> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read price table ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = PriceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(
      `price table ${path}: ${issue.path.join('.')}: ${issue.message} (expected {"prices": {"provider:model": {"inputPerMillion", "outputPerMillion"}}})`,
    );
  }
  return parsed.data.prices;
}

/** The bundled table, with `overridePath`'s entries merged over it. */
export function loadPriceTable(overridePath?: string): PriceTable {
  return createPriceTable({
    ...readPriceFile(defaultPricesPath),
    ...(overridePath ? readPriceFile(overridePath) : {}),
  });
}

export function createPriceTable(prices: Record<string, Price>): PriceTable {
  const priceOf = (providerId: string): Price | undefined => {
    const exact = prices[providerId];
    if (exact) return exact;
    const colon = providerId.indexOf(':');
    return colon < 0 ? undefined : prices[`${providerId.slice(0, colon)}:*`];
  };
  return {
    priceOf,
    costOf(providerId, usage, cached = false, batch = false) {
      if (cached) return 0;
      const price = priceOf(providerId);
      if (!price) return null;
      const input = batch
        ? (price.batchInputPerMillion ?? price.inputPerMillion * DEFAULT_BATCH_PRICE_FACTOR)
        : price.inputPerMillion;
      const output = batch
        ? (price.batchOutputPerMillion ?? price.outputPerMillion * DEFAULT_BATCH_PRICE_FACTOR)
        : price.outputPerMillion;
      return (usage.promptTokens * input + usage.completionTokens * output) / 1_000_000;
    },
  };
}
