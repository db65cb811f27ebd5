/**
 * Judged scorers' kinds (detection.*, fuzzing.*, intervention.*, any new family) wherever results are read: the
 * leaderboard's column per scorer family (terminal, JSON, CSV, HTML), compare's warnings about judges and scorer
 * prompts, the report's cards (every score with its prompt version, the judge's answers next to the truth) and the
 * exports (prompt versions, judgements, Neuronpedia's score type names). Rows are planted as the pipeline stores them.
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../src/report/compare.ts';
import { exportCsv, exportedFeatures, neuronpediaFeatures } from '../../src/report/export.ts';
import {
  formatLeaderboardTable,
  LEADERBOARD_CSV_HEADER,
  leaderboardColumns,
  leaderboardsToCsv,
  leaderboardToJson,
} from '../../src/report/format-leaderboard.ts';
import { renderReportHtml, reportClientData } from '../../src/report/html-report.ts';
import { MAX_SHOWN_TOKENS, selectJudgements } from '../../src/report/judgement-selection.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { headlineKind, scorerColumnKinds } from '../../src/report/score-families.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { judged, plantJudgements, plantScores, type PlantedScore } from './scorer-rows.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

/** Six features over layers 0 and 1 (correlation.all i/10, ablation.all i/100) with judged scores of three families. */
function judgedRun(options: { simulationMode?: string | null; judge?: string; detectionPrompt?: string } = {}) {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = syntheticRun(store, {
    name: 'judged',
    features: featuresWith(6, (i) => i / 10, 2).map((f) => ({ ...f, scores: { 'ablation.all': f.index / 100 } })),
  });
  const mode = options.simulationMode ?? null;
  const planted: PlantedScore[] = [];
  for (let i = 0; i < 6; i++) {
    const detection = options.detectionPrompt ?? 'detection.v1';
    planted.push(
      {
        index: i,
        kind: 'detection.balanced_accuracy',
        value: 0.5 + i / 20,
        simulationMode: mode,
        promptVersion: detection,
      },
      { index: i, kind: 'detection.f1', value: 0.4 + i / 20, simulationMode: mode, promptVersion: detection },
      { index: i, kind: 'fuzzing.balanced_accuracy', value: 0.9 - i / 20, simulationMode: mode },
    );
  }
  // intervention only for layer 0's features, one of them null
  planted.push(
    { index: 0, kind: 'intervention.score', value: 0.2 },
    { index: 2, kind: 'intervention.score', value: 0.4 },
    { index: 4, kind: 'intervention.score', value: null, reason: 'no steered continuation differs' },
  );
  plantScores(store.db, runId, planted);
  plantJudgements(store.db, runId, [
    {
      index: 0,
      scorer: 'detection',
      judge: options.judge ?? 'mock:judge',
      examples: [
        judged('the cat sat', true, { probability: 0.9 }),
        judged('a dog ran', false, { predicted: true, probability: 0.7 }),
        judged('the end', true, { predicted: null }),
      ],
    },
    {
      index: 0,
      scorer: 'fuzzing',
      judge: options.judge ?? 'mock:judge',
      examples: [judged('the cat sat', true, { highlighted: [1] }), judged('a dog ran', false, { highlighted: [2] })],
    },
  ]);
  return { store, run: store.getRun(runId)! };
}

describe('score families', () => {
  it("a family's headline: the known one, else balanced accuracy, score, all, else its first kind", () => {
    expect(headlineKind('detection', ['detection.f1', 'detection.balanced_accuracy'])).toBe(
      'detection.balanced_accuracy',
    );
    expect(headlineKind('intervention', ['intervention.score', 'intervention.auroc'])).toBe('intervention.score');
    expect(headlineKind('embedding', ['embedding.auroc', 'embedding.balanced_accuracy'])).toBe(
      'embedding.balanced_accuracy',
    );
    expect(headlineKind('novel', ['novel.b', 'novel.score'])).toBe('novel.score');
    expect(headlineKind('novel', ['novel.b', 'novel.all'])).toBe('novel.all');
    expect(headlineKind('novel', ['novel.z', 'novel.b'])).toBe('novel.b');
    expect(headlineKind('novel', ['correlation.all'])).toBeUndefined();
  });

  it("columns: one per family besides the board's own, known ones first; never ablation, rsquared or absdev", () => {
    const kinds = [
      'absdev.all',
      'ablation.all',
      'correlation.all',
      'correlation.top',
      'detection.f1',
      'detection.balanced_accuracy',
      'embedding.auroc',
      'fuzzing.balanced_accuracy',
      'intervention.score',
      'rsquared.all',
    ];
    expect(scorerColumnKinds(kinds, 'correlation.all')).toEqual([
      'detection.balanced_accuracy',
      'fuzzing.balanced_accuracy',
      'intervention.score',
      'embedding.auroc',
    ]);
    expect(scorerColumnKinds(kinds, 'detection.f1')).toEqual([
      'correlation.all',
      'fuzzing.balanced_accuracy',
      'intervention.score',
      'embedding.auroc',
    ]);
    expect(scorerColumnKinds(['correlation.all', 'rsquared.all', 'ablation.all'], 'correlation.all')).toEqual([]);
  });
});

describe('leaderboard with judged scorers', () => {
  it('has a column per scorer family with the mean of its headline kind per row (terminal, JSON, CSV)', () => {
    const { store, run } = judgedRun();
    const board = buildLeaderboard(store.db, run);
    expect(leaderboardColumns(board.rows).slice(12)).toEqual([
      '≥0.8',
      'detection',
      'fuzzing',
      'intervention',
      'ablation',
      'best',
      'worst',
    ]);
    // layer 0: features 0, 2, 4; layer 1: 1, 3, 5
    expect(board.rows.map((row) => row.scorerMeans)).toEqual([
      {
        'detection.balanced_accuracy': expect.closeTo(0.6, 12),
        'fuzzing.balanced_accuracy': expect.closeTo(0.8, 12),
        'intervention.score': expect.closeTo(0.3, 12), // the null one left out
      },
      {
        'detection.balanced_accuracy': expect.closeTo(0.65, 12),
        'fuzzing.balanced_accuracy': expect.closeTo(0.75, 12),
        'intervention.score': null, // no feature of layer 1 has one
      },
    ]);
    expect(board.rows.map((row) => row.ablationMedian)).toEqual([0.02, 0.03]);

    const text = formatLeaderboardTable(board);
    const header = text.split('\n').find((line) => line.includes('detection') && line.includes('mean'))!;
    expect(header.indexOf('≥0.8')).toBeLessThan(header.indexOf('detection'));
    expect(header.indexOf('detection')).toBeLessThan(header.indexOf('fuzzing'));
    expect(header.indexOf('intervention')).toBeLessThan(header.indexOf('ablation'));
    expect(text).toContain('0.600');
    expect(text).toContain(
      "detection: mean detection.balanced_accuracy of the row's features (— where none has one; `--score detection.balanced_accuracy` ranks by it)",
    );
    // a narrow terminal drops the scorer columns (right to left) before ablation
    const narrow = formatLeaderboardTable(board, { width: 110 });
    expect(narrow).toMatch(/columns left out to fit 110 columns: .*≥0\.5, intervention \(/);
    expect(narrow).toMatch(/│ detection │ fuzzing │ ablation │/);

    const json = leaderboardToJson(board) as { rows: { scorerMeans: Record<string, number | null> }[] };
    expect(json.rows[1]!.scorerMeans['intervention.score']).toBeNull();

    const [headerLine, firstRow] = leaderboardsToCsv([board]).split('\r\n');
    const columns = headerLine!.split(',');
    expect(columns).toEqual([
      ...LEADERBOARD_CSV_HEADER,
      'ablation.all_median',
      'detection.balanced_accuracy_mean',
      'fuzzing.balanced_accuracy_mean',
      'intervention.score_mean',
    ]);
    const cells = firstRow!.split(',');
    expect(Number(cells[columns.indexOf('detection.balanced_accuracy_mean')])).toBeCloseTo(0.6, 12);
    expect(Number(cells[columns.indexOf('ablation.all_median')])).toBeCloseTo(0.02, 12);
  });

  it('lines judged scores up with the simulation rows by feature, whatever mode they were stored with', () => {
    const { store, run } = judgedRun({ simulationMode: 'prompt-logprobs' });
    const board = buildLeaderboard(store.db, run);
    expect(board.rows).toHaveLength(2);
    expect(board.rows[0]!.scorerMeans!['detection.balanced_accuracy']).toBeCloseTo(0.6, 12);
  });

  it('ranks by a judged kind, showing correlation as a column beside the other families', () => {
    const { store, run } = judgedRun();
    const board = buildLeaderboard(store.db, run, 'detection.balanced_accuracy');
    expect(board.rows.map((row) => [row.layer, row.scored, row.mean])).toEqual([
      ['0', 3, expect.closeTo(0.6, 12)],
      ['1', 3, expect.closeTo(0.65, 12)],
    ]);
    expect(board.rows[0]!.best).toMatchObject({ featureKey: 'synthetic/0/neuron/4', value: 0.7 });
    expect(leaderboardColumns(board.rows)).toContain('correlation');
    expect(leaderboardColumns(board.rows)).not.toContain('detection');
    expect(board.rows[0]!.scorerMeans!['correlation.all']).toBeCloseTo(0.2, 12);
    expect(board.rows[0]!.ablationMedian).toBe(0.02);
  });

  it('a run without judged scores keeps the board it had: no scorer columns, no new JSON fields or CSV columns', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const run = store.getRun(syntheticRun(store, { name: 'plain', features: featuresWith(4, (i) => i / 4) }))!;
    const board = buildLeaderboard(store.db, run);
    expect(board.rows.every((row) => !('scorerMeans' in row) && !('ablationMedian' in row))).toBe(true);
    expect(leaderboardsToCsv([board]).split('\r\n')[0]!.split(',')).toEqual([...LEADERBOARD_CSV_HEADER]);
  });
});

describe('terminal safety of stored score kinds', () => {
  it('a scorer column titled by a stored kind holding control characters prints them as visible escapes', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const run = store.getRun(syntheticRun(store, { name: 'shared db', features: featuresWith(2, (i) => i / 2) }))!;
    const kind = 'evil\u001b]52;c;cm0gLXJm\u0007.score';
    plantScores(store.db, run.id, [{ index: 0, kind, value: 0.5 }]);
    const text = formatLeaderboardTable(buildLeaderboard(store.db, run), { width: 1000 });
    expect(text).toContain('evil\\x1b]52;c;cm0gLXJm\\x07');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('compare on a judged kind', () => {
  it("warns about another judge or another scorer prompt, not about the simulation's instruments", () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const plant = (name: string, simulator: string, judge: string, prompt: string) => {
      const runId = syntheticRun(store, { name, simulator, features: featuresWith(6, (i) => i / 10, 2) });
      plantScores(
        store.db,
        runId,
        Array.from({ length: 6 }, (_, i) => ({
          index: i,
          kind: 'detection.balanced_accuracy',
          value: 0.6 + i / 50,
          promptVersion: prompt,
        })),
      );
      plantJudgements(store.db, runId, [
        { index: 0, scorer: 'detection', judge, promptVersion: prompt, examples: [judged('a b', true)] },
      ]);
      return store.getRun(runId)!;
    };
    const a = plant('a', 'mock:simulator', 'mock:judge', 'detection.v1');
    const sameJudge = plant('b', 'openai:other-simulator', 'mock:judge', 'detection.v1');
    const otherJudge = plant('c', 'mock:simulator', 'openai:gpt-4o-mini', 'detection.v2');
    const options = { scoreKind: 'detection.balanced_accuracy' };
    const same = compareRuns(store.db, a, sameJudge, options);
    expect(same.paired).toBe(6);
    expect(same.warnings).toEqual([]);
    const other = compareRuns(store.db, a, otherJudge, options);
    expect(other.warnings.map((w) => [w.code, w.instrument])).toEqual([
      ['judge', true],
      ['scorer-prompt', true],
    ]);
    expect(other.warnings[0]!.message).toBe(
      'different detection judges (baseline mock:judge; candidate openai:gpt-4o-mini): score differences mix explanation quality with judge quality',
    );
    // correlation still compares with the simulation's instruments
    expect(compareRuns(store.db, a, sameJudge).warnings.map((w) => w.code)).toEqual(['simulator']);
  });
});

describe('the judge answers a card shows', () => {
  it('at most the cap, both truths, mistakes and unreadable answers first within each, in stored order', () => {
    const examples = [
      judged('p1', true),
      judged('p2', true, { predicted: false }),
      judged('p3', true),
      judged('n1', false),
      judged('n2', false),
      judged('n3', false, { predicted: null }),
      judged('n4', false, { predicted: true }),
    ];
    const text = (cap: number) => selectJudgements(examples, cap).map((e) => e.tokens.join(' '));
    expect(text(4)).toEqual(['p1', 'p2', 'n3', 'n4']);
    expect(text(3)).toEqual(['p1', 'p2', 'n3']);
    expect(text(0)).toEqual([]);
    expect(text(20)).toHaveLength(7);
    // one side short: the other fills the cap
    expect(selectJudgements(examples.slice(3), 3).map((e) => e.tokens[0])).toEqual(['n1', 'n3', 'n4']);
  });

  it('cuts a long window around its first highlighted token, highlighted positions following the cut', () => {
    const tokens = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const [shown] = selectJudgements(
      [{ tokens, highlighted: [150, 151], source: 'top', truth: true, predicted: true, probability: null }],
      1,
    );
    expect(shown!.tokens).toHaveLength(MAX_SHOWN_TOKENS);
    expect(shown!.highlighted!.map((i) => shown!.tokens[i])).toEqual(['t150', 't151']);
    expect(shown!.cutBefore! + MAX_SHOWN_TOKENS + shown!.cutAfter!).toBe(200);
  });
});

describe('HTML report with judged scorers', () => {
  it('the leaderboard has the scorer columns; cards get every score with its prompt version and the judge answers', () => {
    const { store, run } = judgedRun();
    const data = buildReportData(store.db, run, { generatedAt: 'fixed' });
    const html = renderReportHtml(data);
    const head = [
      ...html
        .split('<table class="board" id="leaderboard">')[1]!
        .split('</thead>')[0]!
        .matchAll(/<th>([^<]*)<\/th>/g),
    ].map((m) => m[1]);
    expect(head.slice(13, 17)).toEqual(['detection', 'fuzzing', 'intervention', 'ablation']);
    expect(html).toContain('<td class="num" title="mean detection.balanced_accuracy">0.600</td>');

    const feature = data.features.find((f) => f.key === 'synthetic/0/neuron/0')!;
    expect(feature.scores['detection.f1']).toEqual({ value: 0.4, reason: null, promptVersion: 'detection.v1' });
    expect(feature.scores['correlation.all']!.promptVersion).toBeNull();
    expect(feature.judgements.map((j) => [j.scorer, j.judge, j.promptVersion, j.total, j.answered, j.right])).toEqual([
      ['detection', 'mock:judge', 'detection.v1', 3, 2, 1],
      ['fuzzing', 'mock:judge', 'fuzzing.v1', 2, 2, 2],
    ]);
    const client = reportClientData(data) as {
      kinds: string[];
      kp: (string | null)[];
      names: string[];
      features: { k: string; j?: unknown[][]; p?: Record<number, string | null> }[];
    };
    expect(client.kp[client.kinds.indexOf('detection.f1')]).toBe('detection.v1');
    expect(client.kp[client.kinds.indexOf('correlation.all')]).toBeNull();
    const judgedSets = client.features.find((f) => f.k === 'synthetic/0/neuron/0')!.j!;
    expect(judgedSets.map((set) => client.names[set[0] as number])).toEqual(['detection', 'fuzzing']);
    // without --judgements the cards carry none
    const none = reportClientData(buildReportData(store.db, run, { judgementsPerScorer: 0 })) as {
      features: { j?: { length: number }[][] }[];
    };
    expect(none.features.flatMap((f) => (f.j ?? []).flatMap((set) => set[6]))).toEqual([]);
  });
});

describe('exports with judged scorers', () => {
  it('jsonl: prompt versions on judged scores and every judge answer; csv: a prompt version column per judged kind', () => {
    const { store, run } = judgedRun();
    const first = exportedFeatures(store.db, run).find((f) => f.featureKey === 'synthetic/0/neuron/0')!;
    expect(first.scores['detection.balanced_accuracy']).toEqual({
      value: 0.5,
      reason: null,
      nTokens: 20,
      nMissing: 0,
      promptVersion: 'detection.v1',
    });
    expect(first.scores['correlation.all']).not.toHaveProperty('promptVersion');
    expect(first.judgements!.detection).toMatchObject({ judge: 'mock:judge', promptVersion: 'detection.v1' });
    expect(first.judgements!.detection!.examples).toHaveLength(3);
    expect(first.judgements!.fuzzing!.examples[0]).toMatchObject({ tokens: ['the', 'cat', 'sat'], highlighted: [1] });
    const second = exportedFeatures(store.db, run).find((f) => f.featureKey === 'synthetic/1/neuron/1')!;
    expect(second).not.toHaveProperty('judgements');

    const [header] = exportCsv(store.db, run).split('\r\n');
    const columns = header!.split(',');
    expect(columns).toContain('detection.balanced_accuracy.prompt_version');
    expect(columns).toContain('intervention.score.prompt_version');
    expect(columns).not.toContain('correlation.all.prompt_version');
  });

  it("neuronpedia: detection's and fuzzing's balanced accuracy as eleuther_recall and eleuther_fuzz, scored by the judge", () => {
    const { store, run } = judgedRun({ judge: 'openai:gpt-4o-mini' });
    const feature = neuronpediaFeatures(store.db, run).find((f) => f.autointerp.featureKey === 'synthetic/0/neuron/0')!;
    const scores = feature.explanations[0]!.scores;
    const named = (name: string) => scores.find((s) => s.explanationScoreTypeName === name);
    expect(named('eleuther_recall')).toEqual({
      explanationScoreTypeName: 'eleuther_recall',
      explanationScoreModelName: 'openai:gpt-4o-mini',
      value: 0.5,
    });
    expect(named('eleuther_fuzz')).toMatchObject({ value: 0.9, explanationScoreModelName: 'openai:gpt-4o-mini' });
    expect(named('detection.f1')).toMatchObject({ explanationScoreModelName: 'openai:gpt-4o-mini' });
    expect(named('detection.balanced_accuracy')).toBeUndefined();
    expect(named('correlation.all')).toMatchObject({ explanationScoreModelName: 'mock:simulator' });
  });
});
