/**
 * @module store/batch-store — typed writes and reads of provider batches (`llm_batches`) and their requests
 * (`llm_batch_requests`). A batch and its request map are written in one transaction as soon as the provider has
 * accepted it — before any waiting — so a run killed while a batch is pending finds it again on resume; a batch's
 * outcomes are stored in one transaction when it ends.
 */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { preparedStatements } from './prepared-statements.ts';

export type BatchPhase = 'explain' | 'simulate';
export type BatchRequestStatus = 'pending' | 'succeeded' | 'errored' | 'expired' | 'canceled';

export interface NewBatch {
  runId: number;
  provider: string;
  api: string;
  batchId: string;
  phase: BatchPhase;
  endpoint: string;
  inputFileId?: string;
  status: string;
}

/** One request of a new batch: its custom id and the features (keys) waiting for its answer. */
export interface NewBatchRequest {
  customId: string;
  features: readonly string[];
}

export interface BatchRow {
  id: number;
  run_id: number;
  provider: string;
  api: string;
  batch_id: string;
  phase: BatchPhase;
  endpoint: string;
  input_file_id: string | null;
  status: string;
  ended: number;
  ingested: number;
  request_count: number;
  succeeded: number;
  failed: number;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** A request's outcome as stored (the store keeps its own types: it sits below llm/). */
export type StoredBatchOutcome =
  | { customId: string; status: 'succeeded'; body: unknown }
  | { customId: string; status: 'errored' | 'expired' | 'canceled'; error: string };

/** The newest stored state of a request in a run. */
export interface BatchAnswer {
  /** llm_batches.id */
  batchRow: number;
  /** The provider's batch id. */
  batchId: string;
  customId: string;
  status: BatchRequestStatus;
  /** The response body, when succeeded. */
  body?: unknown;
  error: string | null;
}

const now = () => new Date().toISOString();

export class BatchStore {
  /** Prepared statements, prepared once per store. */
  private readonly sql: (text: string) => Statement;

  constructor(readonly db: SqliteDatabase) {
    this.sql = preparedStatements(db);
  }

  /** Records a submitted batch and its requests (all pending) in one transaction; returns the row id. */
  recordBatch(batch: NewBatch, requests: readonly NewBatchRequest[]): number {
    return this.db.transaction(() => {
      const time = now();
      const id = Number(
        this.sql(
          `INSERT INTO llm_batches (run_id, provider, api, batch_id, phase, endpoint, input_file_id, status, request_count, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          batch.runId,
          batch.provider,
          batch.api,
          batch.batchId,
          batch.phase,
          batch.endpoint,
          batch.inputFileId ?? null,
          batch.status,
          requests.length,
          time,
          time,
        ).lastInsertRowid,
      );
      const insert = this.sql(
        `INSERT INTO llm_batch_requests (batch, custom_id, features, status) VALUES (?, ?, ?, 'pending')`,
      );
      for (const request of requests) insert.run(id, request.customId, JSON.stringify(request.features));
      return id;
    })();
  }

  /** Notes the provider's latest report on a batch. */
  updateBatch(
    id: number,
    state: { status: string; ended: boolean; succeeded: number; failed: number; error?: string },
  ): void {
    this.sql(
      `UPDATE llm_batches SET status = ?, ended = ?, succeeded = ?, failed = ?, error = COALESCE(?, error), updated_at = ? WHERE id = ?`,
    ).run(state.status, state.ended ? 1 : 0, state.succeeded, state.failed, state.error ?? null, now(), id);
  }

  /**
   * Stores an ended batch's outcomes in one transaction and marks it ingested. A request of the batch with no outcome
   * is stored as errored with `missingReason`; outcomes for custom ids the batch does not hold are ignored.
   */
  ingestBatch(
    id: number,
    outcomes: readonly StoredBatchOutcome[],
    missingReason: string,
  ): { succeeded: number; failed: number } {
    return this.db.transaction(() => {
      const update = this.sql(
        `UPDATE llm_batch_requests SET status = ?, response = ?, error = ? WHERE batch = ? AND custom_id = ?`,
      );
      for (const outcome of outcomes) {
        if (outcome.status === 'succeeded')
          update.run('succeeded', JSON.stringify(outcome.body ?? null), null, id, outcome.customId);
        else update.run(outcome.status, null, outcome.error, id, outcome.customId);
      }
      this.sql(
        `UPDATE llm_batch_requests SET status = 'errored', error = ? WHERE batch = ? AND status = 'pending'`,
      ).run(missingReason, id);
      const counts = this.sql(
        `SELECT SUM(status = 'succeeded') AS succeeded, SUM(status != 'succeeded') AS failed FROM llm_batch_requests WHERE batch = ?`,
      ).get(id) as { succeeded: number | null; failed: number | null };
      const result = { succeeded: counts.succeeded ?? 0, failed: counts.failed ?? 0 };
      this.sql(
        `UPDATE llm_batches SET ingested = 1, ended = 1, succeeded = ?, failed = ?, updated_at = ? WHERE id = ?`,
      ).run(result.succeeded, result.failed, now(), id);
      return result;
    })();
  }

  getBatch(id: number): BatchRow | undefined {
    return this.sql('SELECT * FROM llm_batches WHERE id = ?').get(id) as BatchRow | undefined;
  }

  /** A run's batches, oldest first. */
  batchesOfRun(runId: number): BatchRow[] {
    return this.sql('SELECT * FROM llm_batches WHERE run_id = ? ORDER BY id').all(runId) as BatchRow[];
  }

  /** The newest state of a request (by custom id) among a run's batches; undefined when never submitted. */
  latestAnswer(runId: number, customId: string): BatchAnswer | undefined {
    const row = this.sql(
      `SELECT b.id AS batch_row, b.batch_id, r.custom_id, r.status, r.response, r.error
       FROM llm_batch_requests r JOIN llm_batches b ON b.id = r.batch
       WHERE r.custom_id = ? AND b.run_id = ? ORDER BY b.id DESC LIMIT 1`,
    ).get(customId, runId) as
      | {
          batch_row: number;
          batch_id: string;
          custom_id: string;
          status: BatchRequestStatus;
          response: string | null;
          error: string | null;
        }
      | undefined;
    if (!row) return undefined;
    return {
      batchRow: row.batch_row,
      batchId: row.batch_id,
      customId: row.custom_id,
      status: row.status,
      ...(row.response !== null ? { body: JSON.parse(row.response) as unknown } : {}),
      error: row.error,
    };
  }
}
