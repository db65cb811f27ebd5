/**
 * @module store/sae-store — typed writes and reads of sparse autoencoders (`saes`) and their metrics
 * (`sae_metrics`). Recording an SAE under a name it already has updates that row (a retrained SAE keeps its features'
 * ids); recording metrics for a split replaces that split's values, in one transaction.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { preparedStatements } from './prepared-statements.ts';

export interface SaeDescription {
  name: string;
  model: string;
  hook: string;
  architecture: string;
  dIn: number;
  dSae: number;
  k?: number | null;
  l1Coefficient?: number | null;
  path?: string | null;
  weightsDigest?: string | null;
  /** Stored as JSON. */
  training?: unknown;
}

export interface SaeRow {
  id: number;
  name: string;
  model: string;
  hook: string;
  architecture: string;
  d_in: number;
  d_sae: number;
  k: number | null;
  l1_coefficient: number | null;
  path: string | null;
  weights_digest: string | null;
  training: string | null;
  density_histogram: string | null;
  updated_at: string;
}

export interface SaeMetricRow {
  split: string;
  metric: string;
  value: number | null;
  n_tokens: number;
}

export class SaeStore {
  private readonly sql: (text: string) => Statement;

  constructor(readonly db: SqliteDatabase) {
    this.sql = preparedStatements(db);
  }

  /** Inserts or updates (by name) an SAE; returns its row id. */
  recordSae(sae: SaeDescription): number {
    const row = this.sql(
      `INSERT INTO saes (name, model, hook, architecture, d_in, d_sae, k, l1_coefficient, path, weights_digest, training, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET model = excluded.model, hook = excluded.hook, architecture = excluded.architecture,
         d_in = excluded.d_in, d_sae = excluded.d_sae, k = excluded.k, l1_coefficient = excluded.l1_coefficient, path = excluded.path,
         weights_digest = excluded.weights_digest, training = excluded.training, updated_at = excluded.updated_at
       RETURNING id`,
    ).get(
      sae.name,
      sae.model,
      sae.hook,
      sae.architecture,
      sae.dIn,
      sae.dSae,
      sae.k ?? null,
      sae.l1Coefficient ?? null,
      sae.path ?? null,
      sae.weightsDigest ?? null,
      sae.training === undefined ? null : JSON.stringify(sae.training),
      new Date().toISOString(),
    ) as { id: number };
    return row.id;
  }

  /** Replaces the metrics of one split (null values are stored as null: undefined there). */
  recordMetrics(
    saeId: number,
    split: string,
    nTokens: number,
    metrics: Readonly<Record<string, number | null>>,
    densityHistogram?: unknown,
  ): void {
    this.db.transaction(() => {
      this.sql('DELETE FROM sae_metrics WHERE sae_id = ? AND split = ?').run(saeId, split);
      const insert = this.sql(
        'INSERT INTO sae_metrics (sae_id, split, metric, value, n_tokens) VALUES (?, ?, ?, ?, ?)',
      );
      for (const [metric, value] of Object.entries(metrics))
        insert.run(saeId, split, metric, value !== null && Number.isFinite(value) ? value : null, nTokens);
      if (densityHistogram !== undefined)
        this.sql('UPDATE saes SET density_histogram = ? WHERE id = ?').run(JSON.stringify(densityHistogram), saeId);
    })();
  }

  getSae(name: string): SaeRow | undefined {
    return this.sql('SELECT * FROM saes WHERE name = ?').get(name) as SaeRow | undefined;
  }

  listSaes(): SaeRow[] {
    return this.sql('SELECT * FROM saes ORDER BY model, hook, d_sae, name').all() as SaeRow[];
  }

  metricsOf(saeId: number): SaeMetricRow[] {
    return this.sql(
      'SELECT split, metric, value, n_tokens FROM sae_metrics WHERE sae_id = ? ORDER BY split, metric',
    ).all(saeId) as SaeMetricRow[];
  }
}
