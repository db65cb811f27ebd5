import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../src/report/csv.ts';
import {
  formatLeaderboardTable,
  leaderboardsToCsv,
  leaderboardToJson,
  LEADERBOARD_CSV_HEADER,
} from '../../src/report/format-leaderboard.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { matchesPattern, selectRuns } from '../../src/report/run-selection.ts';
import { openDatabase } from '../../src/store/database.ts';
import { resolveRun } from '../../src/store/queries.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const newStore = () => new ResultStore(openDatabase(':memory:'));

/** A minimal RFC 4180 reader, to check that what we write reads back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  return rows;
}

describe('leaderboard', () => {
  it('counts scored, null and failed features per layer, with mean, CI and the top and bottom features', () => {
    const store = newStore();
    const run = syntheticRun(store, {
      name: 'r',
      features: [
        ...featuresWith(9, (i) => i / 10),
        { layer: 0, index: 9, value: null, reason: 'constant simulated activations' },
        { layer: 1, index: 10, value: null, status: 'failed', reason: 'timeout' },
      ],
    });
    const board = buildLeaderboard(store.db, store.getRun(run)!, 'correlation.all', { top: 2 });
    expect(board.rows.map((r) => [r.layer, r.features, r.scored, r.undefinedScores, r.failed])).toEqual([
      ['0', 4, 3, 1, 0],
      ['1', 4, 3, 0, 1],
      ['2', 3, 3, 0, 0],
    ]);
    const layer0 = board.rows[0]!;
    expect(layer0.mean).toBeCloseTo(0.3, 12); // 0, 0.3, 0.6
    expect(layer0.nullReasons).toEqual({ 'constant simulated activations': 1 });
    expect(layer0.top.map((f) => f.featureKey)).toEqual(['synthetic/0/neuron/6', 'synthetic/0/neuron/3']);
    expect(layer0.bottom.map((f) => f.featureKey)).toEqual(['synthetic/0/neuron/0', 'synthetic/0/neuron/3']);
    expect(layer0.fractionAtLeast05).toBeCloseTo(1 / 3, 12);
    const text = formatLeaderboardTable(board);
    expect(text).toMatch(/failed features: 1/);
    expect(text).toMatch(/null scores: 1 × constant simulated activations/);
  });

  it('never mixes simulation modes or models in a row, says so, and filters rows', () => {
    const store = newStore();
    const db = store.db;
    const run = syntheticRun(store, {
      name: 'mixed',
      features: [
        ...featuresWith(4, () => 0.5, 1),
        { layer: 0, index: 50, model: 'gpt2', value: 0.9 },
        { layer: 0, index: 60, kind: 'sae', sae: 'res', value: 0.1 },
      ],
    });
    // a feature simulated in another mode (e.g. a resumed run with another provider): its own row
    db.prepare(
      "UPDATE scores SET simulation_mode = 'chat-logprobs' WHERE feature_id = (SELECT id FROM features WHERE idx = 3)",
    ).run();
    const board = buildLeaderboard(db, store.getRun(run)!);
    expect(board.rows.map((r) => [r.model, r.layer, r.featureKind, r.sae, r.simulationMode, r.scored])).toEqual([
      ['gpt2', '0', 'neuron', '', 'prompt-logprobs', 1],
      ['synthetic', '0', 'neuron', '', 'chat-logprobs', 1],
      ['synthetic', '0', 'neuron', '', 'prompt-logprobs', 3],
      ['synthetic', '0', 'sae', 'res', 'prompt-logprobs', 1],
    ]);
    const text = formatLeaderboardTable(board);
    expect(text).toMatch(/NOTE: rows come from 2 simulation modes/);
    expect(text).toMatch(/NOTE: rows come from 2 subject models/);
    expect(leaderboardToJson(board)).toMatchObject({
      notes: [expect.stringMatching(/2 simulation modes/), expect.stringMatching(/2 subject models/)],
    });

    const filtered = (filters: Parameters<typeof buildLeaderboard>[3]) =>
      buildLeaderboard(db, store.getRun(run)!, 'correlation.all', filters).rows.map((r) => r.scored);
    expect(filtered({ filters: { simulationMode: 'chat-logprobs' } })).toEqual([1]);
    expect(filtered({ filters: { featureKind: 'sae' } })).toEqual([1]);
    expect(filtered({ filters: { model: 'gpt2' } })).toEqual([1]);
    expect(filtered({ filters: { layer: '7' } })).toEqual([]);
  });

  it('fits a given terminal width by leaving out the widest columns, names them, and keeps every column without a width', () => {
    const store = newStore();
    const explanation = 'years and dates written as numbers in long running prose';
    const run = syntheticRun(store, {
      name: 'wide',
      features: featuresWith(6, (i) => i / 10).map((feature) => ({
        ...feature,
        model: 'a-subject-model-with-a-long-name',
        explanation,
      })),
    });
    const board = buildLeaderboard(store.db, store.getRun(run)!);
    const widest = (text: string) =>
      Math.max(
        ...text
          .split('\n')
          .filter((line) => /^[│┌├└]/.test(line))
          .map((line) => [...line].length),
      );
    const full = formatLeaderboardTable(board);
    expect(widest(full)).toBeGreaterThan(120);
    expect(full).toMatch(/│ best/);
    expect(full).not.toMatch(/left out/);
    const fitted = formatLeaderboardTable(board, { width: 100 });
    expect(widest(fitted)).toBeLessThanOrEqual(100);
    expect(fitted).not.toMatch(/│ best/);
    expect(fitted).not.toMatch(/│ worst/);
    expect(fitted).toMatch(/│ mean/);
    expect(fitted).toMatch(/columns left out to fit 100 columns: worst, best.*--wide/);
    // a terminal wide enough for everything leaves nothing out
    expect(formatLeaderboardTable(board, { width: widest(full) })).toBe(full);
  });

  it('escapes control characters of names, explanations and tokens in the table (an OSC 52 clipboard write stays inert)', () => {
    const store = newStore();
    const osc52 = '\u001b]52;c;cm0gLXJmIH4=\u0007';
    const run = syntheticRun(store, {
      name: `run\u001b[2J`,
      explainer: 'openai:evil\u009b31m',
      features: [
        { layer: 0, index: 0, value: 0.9, explanation: `tokens like ${osc52}`, model: 'm\u007f' },
        { layer: 0, index: 1, value: 0.1, model: 'm\u007f' },
      ],
    });
    const text = formatLeaderboardTable(buildLeaderboard(store.db, store.getRun(run)!));
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // only the line breaks between lines remain
    expect(text).toContain('run\\x1b[2J');
    expect(text).toContain('openai:evil\\x9b31m');
    expect(text).toContain('m\\x7f');
    expect(text).toContain('\\x1b]52;c;');
    // JSON keeps the exact text
    expect(JSON.stringify(leaderboardToJson(buildLeaderboard(store.db, store.getRun(run)!)))).toContain('\\u001b[2J');
  });

  it('shows "baseline" as the mode of rows simulated by the offline baseline, which JSON and CSV keep as stored', () => {
    const store = newStore();
    const run = syntheticRun(store, {
      name: 'b',
      simulator: 'baseline:rule-based-v1',
      features: featuresWith(3, () => 0.5),
    });
    const board = buildLeaderboard(store.db, store.getRun(run)!);
    const text = formatLeaderboardTable(board);
    expect(text).toMatch(/│ baseline +│/);
    expect(text).not.toMatch(/prompt-logprobs/);
    expect(board.rows[0]!.simulationMode).toBe('prompt-logprobs');
    expect(leaderboardsToCsv([board])).toMatch(/,prompt-logprobs,/);
  });

  it('writes CSV that reads back, explanation quotes, commas and line breaks included', () => {
    const store = newStore();
    const explanation = 'the word "said", then\na comma, and  spaces ';
    const run = syntheticRun(store, {
      name: 'r, "quoted"',
      features: [
        { layer: 0, index: 0, value: 0.9, explanation },
        { layer: 0, index: 1, value: 0.1 },
      ],
    });
    const csv = leaderboardsToCsv([buildLeaderboard(store.db, store.getRun(run)!)]);
    const [header, row] = parseCsv(csv);
    expect(header).toEqual([...LEADERBOARD_CSV_HEADER]);
    const cell = (name: string) => row![header!.indexOf(name)];
    expect(cell('run_name')).toBe('r, "quoted"');
    expect(cell('best_explanation')).toBe(explanation);
    expect(Number(cell('mean'))).toBeCloseTo(0.5, 12);
    expect(cell('simulation_mode')).toBe('prompt-logprobs');
    expect(csvCell(null)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
    expect(toCsv(['a'], [[' x']])).toBe('a\r\n" x"\r\n');
  });
});

describe('run selection', () => {
  it('finds runs by id, name, tag:NAME and latest, and filters by explainer (glob), simulator, prompt version and tag', () => {
    const store = newStore();
    const db = store.db;
    const one = syntheticRun(store, {
      name: 'nightly',
      features: featuresWith(2, () => 0.5),
      explainer: 'openai:gpt-4o-mini',
    });
    const two = syntheticRun(store, {
      name: 'nightly',
      features: featuresWith(2, () => 0.5),
      explainer: 'anthropic:claude',
      simulatePrompt: 'simulate.v2',
    });
    db.prepare(`UPDATE runs SET tags = '["baseline"]' WHERE id = ?`).run(one);
    expect(resolveRun(db, String(one))!.id).toBe(one);
    expect(resolveRun(db, 'nightly')!.id).toBe(two);
    expect(resolveRun(db, 'tag:baseline')!.id).toBe(one);
    expect(resolveRun(db, 'tag:nope')).toBeUndefined();
    expect(resolveRun(db, 'latest')!.id).toBe(two);
    const ids = (options: Parameters<typeof selectRuns>[1]) => selectRuns(db, options).map((r) => r.id);
    expect(ids({ where: 'db' })).toEqual([two]);
    expect(ids({ where: 'db', all: true })).toEqual([one, two]);
    expect(ids({ where: 'db', all: true, filters: { explainer: 'openai:*' } })).toEqual([one]);
    expect(ids({ where: 'db', filters: { promptVersion: 'simulate.v1' } })).toEqual([one]);
    expect(ids({ where: 'db', filters: { tag: 'baseline' } })).toEqual([one]);
    expect(ids({ where: 'db', references: ['tag:baseline', String(two)] })).toEqual([one, two]);
    expect(() => selectRuns(db, { where: 'x.db', filters: { simulator: 'nobody' } })).toThrow(
      /no run in x.db matches simulator nobody/,
    );
    expect(() => selectRuns(db, { where: 'x.db', references: ['9'] })).toThrow(/no run "9" in x.db/);
    expect(() =>
      selectRuns(db, { where: 'x.db', references: [String(two)], filters: { explainer: 'openai:*' } }),
    ).toThrow(/does not match the filters/);
    expect(matchesPattern('openai:gpt-4o*', 'openai:gpt-4o-mini')).toBe(true);
    expect(matchesPattern('openai:gpt-4o', 'openai:gpt-4o-mini')).toBe(false);
    expect(matchesPattern('a.b', 'axb')).toBe(false);
  });
});
