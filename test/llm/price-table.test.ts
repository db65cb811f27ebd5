import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { contextTokensOf } from '../../src/llm/context-windows.ts';
import { DEFAULT_CONTEXT_TOKENS } from '../../src/llm/default-context-tokens.ts';
import { defaultPricesPath, loadPriceTable } from '../../src/llm/price-table.ts';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

/** Every `openai:` / `anthropic:` model the README's command lines name. */
function readmeModels(): string[] {
  const models = new Set<string>();
  for (const match of readme.matchAll(/--(?:explainer|simulator) ((?:openai|anthropic):[A-Za-z0-9._-]+)/g))
    models.add(match[1]!);
  return [...models];
}

describe('the bundled price table', () => {
  it('prices every OpenAI and Anthropic model the README runs, so --max-cost accepts the examples', () => {
    const table = loadPriceTable();
    const models = readmeModels();
    expect(models.some((model) => model.startsWith('anthropic:'))).toBe(true);
    expect(models.some((model) => model.startsWith('openai:'))).toBe(true);
    for (const model of models) expect(table.priceOf(model), model).toBeDefined();
  });

  it('every priced OpenAI / Anthropic model has a context window (none falls back to the 8,192-token default)', () => {
    const file = JSON.parse(readFileSync(defaultPricesPath, 'utf8')) as { prices: Record<string, unknown> };
    const models = Object.keys(file.prices).filter((model) => /^(openai|anthropic):/.test(model));
    expect(models.length).toBeGreaterThan(0);
    for (const model of models) expect(contextTokensOf(model), model).toBeGreaterThan(DEFAULT_CONTEXT_TOKENS);
  });

  it('says when it was read and where from', () => {
    const file = JSON.parse(readFileSync(defaultPricesPath, 'utf8')) as { checked?: string; sources?: string[] };
    expect(file.checked).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(file.sources?.length).toBeGreaterThan(0);
  });

  it('leaves out models past end of life (the SDK warns on every call to them)', () => {
    const table = loadPriceTable();
    for (const model of [
      'anthropic:claude-sonnet-4-5',
      'anthropic:claude-3-5-haiku-latest',
      'anthropic:claude-3-7-sonnet-latest',
    ]) {
      expect(table.priceOf(model), model).toBeUndefined();
    }
    expect(readme).not.toMatch(/claude-sonnet-4-5|claude-3-5-haiku/);
  });
});
