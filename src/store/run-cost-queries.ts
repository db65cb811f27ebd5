/**
 * @module store/run-cost-queries — what a run paid per finished feature, from its llm_calls rows: calls, prompt
 * tokens and USD (priced calls only; cached answers cost 0). `compare` shows it beside the uplift, so a best-of-n
 * run and a one-shot run of the same features show their price too.
 */
import type { SqliteDatabase } from './database.ts';

export interface RunCostPerFeature {
  /** Features the run finished (scored, skipped or failed). */
  features: number;
  calls: number;
  promptTokens: number;
  /** USD of the priced calls; null when no call had a price (the offline baseline, an unknown model). */
  costUsd: number | null;
}

/** The run's LLM calls, prompt tokens and cost divided by its finished features (0 features: zeros). */
export function runCostPerFeature(db: SqliteDatabase, runId: number): RunCostPerFeature {
  const features = (db.prepare('SELECT COUNT(*) AS n FROM run_features WHERE run_id = ?').get(runId) as { n: number })
    .n;
  const calls = db
    .prepare(
      'SELECT COUNT(*) AS n, COALESCE(SUM(prompt_tokens), 0) AS tokens, SUM(cost_usd) AS cost FROM llm_calls WHERE run_id = ?',
    )
    .get(runId) as { n: number; tokens: number; cost: number | null };
  const per = (value: number) => (features === 0 ? 0 : value / features);
  return {
    features,
    calls: per(calls.n),
    promptTokens: per(calls.tokens),
    costUsd: calls.cost === null ? null : per(calls.cost),
  };
}
