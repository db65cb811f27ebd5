/**
 * Test helper: a run row as `autointerp run --demo` stores it (baseline explainer and simulator, v1 prompts), with
 * the given config, for tests of run resolution and resume that need a stored run but no features.
 */
import type { ResultStore } from '../../src/store/result-store.ts';

export interface BaselineRunOptions {
  name?: string;
  /** The stored `runs.config` (what a resume reads back). */
  config: object;
  sourceDigest?: string;
}

/** Creates the run; its id. */
export function createBaselineRun(
  store: ResultStore,
  { name = 'r', config, sourceDigest }: BaselineRunOptions,
): number {
  return store.createRun({
    name,
    config,
    codeVersion: 'test',
    promptVersions: { explain: 'explain.v1', simulate: 'simulate.v1' },
    explainer: 'baseline',
    simulator: 'baseline',
    isBaseline: true,
    source: 'demo',
    ...(sourceDigest ? { sourceDigest } : {}),
  });
}
