/**
 * @module store/result-store — typed writes and reads of runs and per-feature results. Every unit of work (one
 * feature: its records, explanation, simulations, scores and the run_features marker) is one transaction, so a
 * run killed at any point resumes with no feature lost or duplicated. A record's window (tokens, activations) is
 * stored once per feature (store/record-windows), found or added in that transaction. Each score carries the
 * version of its scorer's prompt; a judged scorer's answers go to `judgements` in the same transaction.
 */
import { featureKey } from '../records/feature-key.ts';
import type { FeatureId, FeatureKind, FeatureRecord, RecordSource, RecordSplit } from '../records/types.ts';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { preparedStatements } from './prepared-statements.ts';
import { encodeFloat32Column } from './float32-column.ts';
import { RecordWindowWriter } from './record-windows.ts';

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'failed';

/** A score as stored (the store defines its own row types: it sits below score/ and simulate/). */
export interface StoredScore {
  kind: string;
  value: number | null;
  /** Why the value is null. */
  reason: string | null;
  nTokens: number;
  nMissing: number;
  /** The version of the prompt of the scorer that produced it (`detection.v1`); null or absent for scores without one. */
  promptVersion?: string | null;
  /**
   * False for a score that did not read the simulation (a judged scorer's): stored without the simulation's mode and
   * protocol. Default true.
   */
  simulated?: boolean;
}

/** What a judge answered for one feature and scorer: the examples (JSON, score/scorer.ts `Judgement`), with the truth. */
export interface StoredJudgements {
  scorer: string;
  /** provider:model of the judge. */
  judge: string;
  promptVersion: string;
  examples: readonly unknown[];
}

/** How the simulation was read: prompt-logprobs | chat-logprobs | sampled. */
export type StoredSimulationMode = 'prompt-logprobs' | 'chat-logprobs' | 'sampled';

export interface NewRun {
  name: string;
  config: unknown;
  codeVersion: string;
  promptVersions: { explain: string; simulate: string };
  explainer: string;
  simulator: string;
  isBaseline: boolean;
  source: string;
  /** sha256 of the feature records the run works on (checked on resume). */
  sourceDigest?: string;
}

export interface RunRow {
  id: number;
  name: string;
  config: string;
  code_version: string;
  prompt_versions: string;
  explainer: string;
  simulator: string;
  is_baseline: number;
  source: string;
  started_at: string;
  finished_at: string | null;
  status: RunStatus;
  /** JSON array of strings. */
  tags: string;
  source_digest: string | null;
}

export interface StoredRecord {
  split: RecordSplit;
  source: RecordSource;
  tokens: string[];
  activations: number[];
  /** Expected values when this record was simulated. */
  expected?: (number | null)[];
}

export interface ScoredFeatureResult {
  status: 'scored';
  feature: FeatureRecord;
  records: StoredRecord[];
  explanation: { text: string; explainer: string; promptVersion: string; isBaseline: boolean };
  /**
   * `recordsPerCall`: the protocol, records of the feature per simulation call (null: all, within the context).
   * Absent when no selected scorer needed the simulation.
   */
  simulation?: { simulator: string; mode: StoredSimulationMode; promptVersion: string; recordsPerCall?: number | null };
  scores: StoredScore[];
  /** The judges' answers, one entry per judged scorer. */
  judgements?: StoredJudgements[];
  /** Best-of-n: every candidate explanation (`explanation` is the selected one); absent for one-shot runs. */
  candidates?: StoredCandidate[];
}

/** One candidate explanation of a best-of-n search (`explanation_candidates`, migration 11). */
export interface StoredCandidate {
  /** 0-based, in the order made. */
  index: number;
  /** The candidate a revision revised; null for samples. */
  parent: number | null;
  kind: 'sample' | 'revision';
  text: string;
  promptVersion: string;
  /** Correlation on the calibration split (what selection compared); null when undefined. */
  calibrationScore: number | null;
  /** correlation.all on the score split, where simulated there (the winner; all with --score-all-candidates). */
  heldOutScore: number | null;
  selected: boolean;
}

export interface UnscoredFeatureResult {
  status: 'skipped' | 'failed';
  feature: FeatureRecord;
  stage: 'explain' | 'simulate' | 'score' | null;
  reason: string;
  records?: StoredRecord[];
  /** Null scores with their reason (e.g. a feature that never activates), stored so the leaderboard counts them. */
  scores?: StoredScore[];
}

export type FeatureResult = ScoredFeatureResult | UnscoredFeatureResult;

export interface LlmCallRow {
  runId: number | null;
  featureId: number | null;
  provider: string;
  /** `explain`, `simulate`, or the name of the scorer that made the call (`detection`, …). */
  purpose: string;
  promptTokens: number;
  completionTokens: number;
  costUsd: number | null;
  latencyMs: number;
  cached: boolean;
  status: string;
  /** The provider batch that answered (Batch APIs); null or absent for live calls and cache hits. */
  batchId?: string | null;
}

const now = () => new Date().toISOString();
const layerText = (layer: FeatureId['layer']) => String(layer);

export class ResultStore {
  /** Prepared statements, prepared once per store. */
  private readonly sql: (text: string) => Statement;

  /** `writeFeatureResult` as one transaction, wrapped once (better-sqlite3 builds several functions per wrap). */
  private readonly saveTransaction: (runId: number, result: FeatureResult, calls: readonly LlmCallRow[]) => void;

  /** A feature's windows, stored once however many runs use them (migration 12); prepared at the first write. */
  private windowWriter: RecordWindowWriter | undefined;

  constructor(readonly db: SqliteDatabase) {
    this.sql = preparedStatements(db);
    this.saveTransaction = db.transaction((runId: number, result: FeatureResult, calls: readonly LlmCallRow[]) =>
      this.writeFeatureResult(runId, result, calls),
    );
  }

  createRun(run: NewRun): number {
    const info = this.sql(
      `INSERT INTO runs (name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, source_digest, started_at, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
    ).run(
      run.name,
      JSON.stringify(run.config),
      run.codeVersion,
      JSON.stringify(run.promptVersions),
      run.explainer,
      run.simulator,
      run.isBaseline ? 1 : 0,
      run.source,
      run.sourceDigest ?? null,
      now(),
    );
    return Number(info.lastInsertRowid);
  }

  getRun(id: number): RunRow | undefined {
    return this.sql('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  /** A run by numeric id or by name (the newest with that name). */
  findRun(idOrName: string): RunRow | undefined {
    if (/^\d+$/.test(idOrName)) return this.getRun(Number(idOrName));
    return this.sql('SELECT * FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1').get(idOrName) as RunRow | undefined;
  }

  latestRun(): RunRow | undefined {
    return this.sql('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
  }

  setRunStatus(id: number, status: RunStatus): void {
    this.sql('UPDATE runs SET status = ?, finished_at = ? WHERE id = ?').run(
      status,
      status === 'running' ? null : now(),
      id,
    );
  }

  /** Replaces a run's tags (a JSON array of strings in runs.tags). */
  setRunTags(id: number, tags: readonly string[]): void {
    this.sql('UPDATE runs SET tags = ? WHERE id = ?').run(JSON.stringify(tags), id);
  }

  /** Id of the feature row, inserted (with its stats) when new. */
  upsertFeature(feature: FeatureRecord): number {
    const { id, stats } = feature;
    const row = this.sql(
      `INSERT INTO features (model, layer, kind, idx, sae, max_activation, density, mean, variance)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, layer, kind, idx, sae) DO UPDATE SET
         max_activation = excluded.max_activation, density = excluded.density,
         mean = excluded.mean, variance = excluded.variance
       RETURNING id`,
    ).get(
      id.model,
      layerText(id.layer),
      id.kind,
      id.index,
      id.sae ?? '',
      stats.maxActivation,
      stats.density,
      stats.mean,
      stats.variance,
    ) as {
      id: number;
    };
    return row.id;
  }

  /**
   * `featureKey`s of the features this run has settled: scored or skipped. Failed features are not settled: a resume
   * tries them again. The layer is used as the text stored, so a hook name such as "007" is not read back as the
   * number 7 (layer 3 and "3" are one feature).
   */
  settledFeatureKeys(runId: number): Set<string> {
    const rows = this.sql(
      `SELECT f.model, f.layer, f.kind, f.idx, f.sae FROM run_features r JOIN features f ON f.id = r.feature_id
       WHERE r.run_id = ? AND r.status IN ('scored', 'skipped')`,
    ).all(runId) as { model: string; layer: string; kind: FeatureKind; idx: number; sae: string }[];
    return new Set(
      rows.map((row) =>
        featureKey({
          model: row.model,
          layer: row.layer,
          kind: row.kind,
          index: row.idx,
          ...(row.sae ? { sae: row.sae } : {}),
        }),
      ),
    );
  }

  /**
   * Writes one feature's whole result in one transaction (and its LLM calls). A failed attempt recorded earlier is
   * replaced; a second write of a settled feature is refused (unique constraints). Inside an open transaction (a run's
   * commit group) it is a savepoint of its own: a write that fails rolls back this feature only.
   */
  saveFeatureResult(runId: number, result: FeatureResult, calls: readonly LlmCallRow[] = []): void {
    this.saveTransaction(runId, result, calls);
  }

  /** The rows of one feature's result; `saveFeatureResult` runs it as one transaction. */
  private writeFeatureResult(runId: number, result: FeatureResult, calls: readonly LlmCallRow[]): void {
    const featureId = this.upsertFeature(result.feature);
    this.sql(`DELETE FROM run_features WHERE run_id = ? AND feature_id = ? AND status = 'failed'`).run(
      runId,
      featureId,
    );
    const insertRecord = this.sql(
      `INSERT INTO records (run_id, feature_id, split, source, position, window_id) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const records = result.records ?? [];
    const windowIds = (this.windowWriter ??= new RecordWindowWriter(this.db)).idsOf(featureId, records);
    const recordIds = records.map((record, position) =>
      Number(
        insertRecord.run(runId, featureId, record.split, record.source, position, windowIds[position]).lastInsertRowid,
      ),
    );
    if (result.status === 'scored') {
      const explanationId = Number(
        this.sql(
          `INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          runId,
          featureId,
          result.explanation.text,
          result.explanation.explainer,
          result.explanation.promptVersion,
          result.explanation.isBaseline ? 1 : 0,
          now(),
        ).lastInsertRowid,
      );
      const { simulation } = result;
      if (simulation) {
        const insertSimulation = this.sql(
          `INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected, records_per_call) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        result.records.forEach((record, i) => {
          if (record.expected) {
            insertSimulation.run(
              explanationId,
              recordIds[i],
              simulation.simulator,
              simulation.mode,
              simulation.promptVersion,
              encodeFloat32Column(record.expected),
              simulation.recordsPerCall ?? null,
            );
          }
        });
      }
      this.insertScores(
        runId,
        featureId,
        explanationId,
        simulation?.mode ?? null,
        result.scores,
        simulation?.recordsPerCall ?? null,
      );
      const insertCandidate = this.sql(
        `INSERT INTO explanation_candidates (run_id, feature_id, candidate, parent, kind, text, prompt_version, calibration_score, held_out_score, selected)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const finiteOrNull = (value: number | null) => (value !== null && Number.isFinite(value) ? value : null);
      for (const candidate of result.candidates ?? []) {
        insertCandidate.run(
          runId,
          featureId,
          candidate.index,
          candidate.parent,
          candidate.kind,
          candidate.text,
          candidate.promptVersion,
          finiteOrNull(candidate.calibrationScore),
          finiteOrNull(candidate.heldOutScore),
          candidate.selected ? 1 : 0,
        );
      }
      const insertJudgements = this.sql(
        `INSERT INTO judgements (run_id, feature_id, scorer, judge, prompt_version, examples) VALUES (?, ?, ?, ?, ?, ?)`,
      );
      for (const judged of result.judgements ?? []) {
        insertJudgements.run(
          runId,
          featureId,
          judged.scorer,
          judged.judge,
          judged.promptVersion,
          JSON.stringify(judged.examples),
        );
      }
    } else if (result.scores) {
      this.insertScores(runId, featureId, null, null, result.scores);
    }
    this.sql(
      `INSERT INTO run_features (run_id, feature_id, status, stage, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      featureId,
      result.status,
      result.status === 'scored' ? null : result.stage,
      result.status === 'scored' ? null : result.reason,
      now(),
    );
    const insertCall = this.sql(
      `INSERT INTO llm_calls (run_id, feature_id, provider, purpose, prompt_tokens, completion_tokens, cost_usd, latency_ms, cached, status, batch_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const call of calls) {
      insertCall.run(
        runId,
        featureId,
        call.provider,
        call.purpose,
        call.promptTokens,
        call.completionTokens,
        call.costUsd,
        call.latencyMs,
        call.cached ? 1 : 0,
        call.status,
        call.batchId ?? null,
        now(),
      );
    }
  }

  private insertScores(
    runId: number,
    featureId: number,
    explanationId: number | null,
    mode: StoredSimulationMode | null,
    scores: readonly StoredScore[],
    recordsPerCall: number | null = null,
  ): void {
    const insert = this.sql(
      `INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode, records_per_call, prompt_version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const score of scores) {
      // Never NaN or Infinity in the database: a non-finite value is stored as null with the reason.
      const finite = score.value === null || Number.isFinite(score.value);
      const value = finite ? score.value : null;
      const reason = finite ? score.reason : `not finite (${score.value})`;
      if (value === null && !reason) throw new Error(`score ${score.kind}: a null score needs a reason`);
      const simulated = score.simulated !== false;
      insert.run(
        runId,
        featureId,
        explanationId,
        score.kind,
        value,
        reason,
        score.nTokens,
        score.nMissing,
        simulated ? mode : null,
        simulated ? recordsPerCall : null,
        score.promptVersion ?? null,
      );
    }
  }

  /** Counts of a run's finished units by status. */
  runProgress(runId: number): { scored: number; skipped: number; failed: number } {
    const rows = this.sql('SELECT status, COUNT(*) AS n FROM run_features WHERE run_id = ? GROUP BY status').all(
      runId,
    ) as {
      status: string;
      n: number;
    }[];
    const counts = { scored: 0, skipped: 0, failed: 0 };
    for (const row of rows) counts[row.status as keyof typeof counts] = row.n;
    return counts;
  }

  /**
   * What a run has spent so far, from its llm_calls rows: USD of priced calls, and answered calls with no price
   * (unanswered calls were not billed, so they are not unpriced ones).
   */
  runSpending(runId: number): { costUsd: number; unpricedCalls: number } {
    const row = this.sql(
      `SELECT COALESCE(SUM(cost_usd), 0) AS cost, SUM(cost_usd IS NULL AND status = 'ok') AS unpriced FROM llm_calls WHERE run_id = ?`,
    ).get(runId) as { cost: number; unpriced: number | null };
    return { costUsd: row.cost, unpricedCalls: row.unpriced ?? 0 };
  }
}
