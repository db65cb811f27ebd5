/**
 * @module test/helpers/pipeline-mocks — the prompt templates and the perfect mock providers that pipeline tests run
 * synthetic features with (test/helpers/synthetic-features.ts: feature i fires on token "t{i}").
 */
import { mockProviders } from './echo-mock.ts';

/** The test fixtures' explain and simulate templates, as run options. */
export const testPrompts = {
  explainPrompt: new URL('../fixtures/prompts/explain.test.json', import.meta.url).pathname,
  simulatePrompt: new URL('../fixtures/prompts/simulate.test.json', import.meta.url).pathname,
};

/** A mock explainer that names the firing tokens ("tokens like t") and an echo simulator that predicts them exactly. */
export const perfectProviders = () =>
  mockProviders(
    () => 'tokens like t',
    (token) => (/^t\d+$/.test(token) ? 10 : 0),
  );
