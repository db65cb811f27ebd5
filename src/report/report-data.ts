/**
 * @module report/report-data — everything the HTML report shows about one run, read from the store: run facts,
 * the leaderboard per layer, and per feature its explanation, scores of every kind (with the scorer's prompt
 * version), activation density, the first held-out top and random score records with the simulator's expected
 * values, a few of each judged scorer's answers next to the truth, and the best-of-n candidates it was chosen from.
 */
import type { SqliteDatabase } from '../store/database.ts';
import {
  featureResultsOfRun,
  judgementsOfRun,
  runIdentity,
  runTags,
  scoreKindsOfRun,
  scoreRecordsOfRun,
  storedFeatureKey,
  type RunIdentity,
} from '../store/queries.ts';
import { candidatesOfRun } from '../store/candidate-queries.ts';
import type { RunRow, StoredCandidate } from '../store/result-store.ts';
import { selectJudgements, type ShownJudgement } from './judgement-selection.ts';
import { buildLeaderboard, type Leaderboard } from './leaderboard.ts';

export interface ReportRecord {
  /** top | random */
  source: string;
  tokens: string[];
  /** True raw activations. */
  activations: number[];
  /** Simulated expected values, normalized 0–10 scale; null entries missing; null when not simulated. */
  expected: (number | null)[] | null;
}

export interface ReportFeature {
  key: string;
  model: string;
  layer: string;
  kind: string;
  sae: string;
  index: number;
  status: 'scored' | 'skipped' | 'failed';
  /** Why skipped or failed. */
  reason: string | null;
  explanation: string | null;
  /** Fraction of tokens with activation > 0; null where the source did not give it (imported records). */
  density: number | null;
  maxActivation: number | null;
  /** Every score of the feature; `promptVersion` is the scorer's own prompt (null for the simulation's scores). */
  scores: Record<string, { value: number | null; reason: string | null; promptVersion: string | null }>;
  records: ReportRecord[];
  /** What each judged scorer's judge answered, next to the truth: a few examples of all it saw. */
  judgements: ReportJudgements[];
  /**
   * The best-of-n candidates the explanation was chosen from (`run --explanations N`, `--revise K`), in the order
   * made, with calibration and (where measured) held-out scores; empty for a one-shot explanation.
   */
  candidates: StoredCandidate[];
}

/** One judged scorer's answers for a feature, as its card shows them. */
export interface ReportJudgements {
  scorer: string;
  judge: string;
  promptVersion: string;
  /** Examples the judge saw, answers it gave that could be read, and how many of those were right. */
  total: number;
  answered: number;
  right: number;
  /** The examples shown (judgement-selection.ts: at most the cap, mistakes first, both truths). */
  shown: ShownJudgement[];
}

export interface ReportData {
  generatedAt: string;
  run: RunIdentity & {
    tags: string[];
    source: string;
    codeVersion: string;
    startedAt: string;
    finishedAt: string | null;
  };
  /** The score kind the leaderboard, histograms and scatter use. */
  scoreKind: string;
  scoreKinds: string[];
  leaderboard: Leaderboard;
  counts: { scored: number; skipped: number; failed: number };
  features: ReportFeature[];
}

export interface ReportDataOptions {
  /** Default correlation.all. */
  scoreKind?: string;
  /** Score records shown per source (top, random) per feature (default 2). */
  recordsPerSource?: number;
  /** Timestamp to print (tests pin it). */
  generatedAt?: string;
  /** The judge's answers shown per judged scorer per feature card (default 4; 0 shows none). */
  judgementsPerScorer?: number;
}

/** Default cap of a card's judge answers per scorer: the report stays small at 10,000 features. */
export const DEFAULT_JUDGEMENTS_PER_SCORER = 4;

export function buildReportData(db: SqliteDatabase, run: RunRow, options: ReportDataOptions = {}): ReportData {
  const scoreKind = options.scoreKind ?? 'correlation.all';
  const results = featureResultsOfRun(db, run.id);
  const records = scoreRecordsOfRun(db, run.id, { perSource: options.recordsPerSource ?? 2 });
  const judgements = judgementsOfRun(db, run.id);
  const candidates = candidatesOfRun(db, run.id);
  const judgementsPerScorer = options.judgementsPerScorer ?? DEFAULT_JUDGEMENTS_PER_SCORER;
  const counts = { scored: 0, skipped: 0, failed: 0 };
  const features = results.map((result): ReportFeature => {
    counts[result.status]++;
    return {
      key: storedFeatureKey(result),
      model: result.model,
      layer: result.layer,
      kind: result.kind,
      sae: result.sae,
      index: result.index,
      status: result.status,
      reason: result.reason,
      explanation: result.explanation,
      density: result.density,
      maxActivation: result.maxActivation,
      scores: Object.fromEntries(
        result.scores.map((s) => [s.kind, { value: s.value, reason: s.reason, promptVersion: s.promptVersion }]),
      ),
      records: (records.get(result.featureId) ?? []).map((r) => ({
        source: r.source,
        tokens: r.tokens,
        activations: r.activations,
        expected: r.expected,
      })),
      judgements: (judgements.get(result.featureId) ?? []).map((set) => {
        const answered = set.examples.filter((e) => e.predicted !== null);
        return {
          scorer: set.scorer,
          judge: set.judge,
          promptVersion: set.promptVersion,
          total: set.examples.length,
          answered: answered.length,
          right: answered.filter((e) => e.predicted === e.truth).length,
          shown: selectJudgements(set.examples, judgementsPerScorer),
        };
      }),
      candidates: candidates.get(result.featureId) ?? [],
    };
  });
  return {
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    run: {
      ...runIdentity(run),
      tags: runTags(run),
      source: run.source,
      codeVersion: run.code_version,
      startedAt: run.started_at,
      finishedAt: run.finished_at,
    },
    scoreKind,
    scoreKinds: scoreKindsOfRun(db, run.id),
    leaderboard: buildLeaderboard(db, run, scoreKind),
    counts,
    features,
  };
}
