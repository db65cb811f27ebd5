/**
 * Migration 10 and the viewer's queries: the explanation full-text index is filled from existing rows and follows
 * every insert, update and delete; a page sorted by score is a seek in scores_by_run_kind_value (no sort, no scan of
 * the skipped rows); FTS5 syntax in what a user types is only text; merged databases are searchable.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { histogramSvg, histogramSvgOfCounts, scoreRange } from '../../src/report/svg-charts.ts';
import { openDatabase } from '../../src/store/database.ts';
import { mergeDatabases } from '../../src/store/merge.ts';
import { migrations } from '../../src/store/migrations.ts';
import { explanationMatchQuery, explanationWordTest } from '../../src/store/explanation-words.ts';
import { scoreHistogramsByGroup } from '../../src/serve/score-histograms.ts';
import {
  minimumScore,
  searchFeatures,
  type FeatureSearch,
  type SearchCursor,
  type SearchTuning,
} from '../../src/store/viewer-queries.ts';
import { buildViewerFixture } from './viewer-fixture.ts';

const matches = (db: Database.Database, words: string) =>
  (
    db
      .prepare('SELECT rowid FROM explanations_fts WHERE explanations_fts MATCH ? ORDER BY rowid')
      .all(explanationMatchQuery(words)) as { rowid: number }[]
  ).map((row) => row.rowid);

describe('migration 10: explanation search', () => {
  it('indexes the explanations a database already had when it is upgraded', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'autointerp-fts-')), 'old.db');
    const old = new Database(path);
    for (const migration of migrations.slice(0, 9)) {
      if (typeof migration === 'string') old.exec(migration);
      else migration(old);
    }
    old.pragma('user_version = 9');
    old.exec(`
      INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
        VALUES (1, 'old', '{}', 'x', '{}', 'e', 's', 0, 'f', '2026-01-01', 'finished');
      INSERT INTO features (id, model, layer, kind, idx) VALUES (1, 'm', '0', 'neuron', 0);
      INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at)
        VALUES (7, 1, 1, 'commas in lists', 'e', 'explain.v1', 0, '2026-01-01');`);
    old.close();
    const db = openDatabase(path);
    try {
      expect(matches(db, 'comma')).toEqual([7]);
    } finally {
      db.close();
    }
  });

  it('follows inserts, updates and deletes of explanations', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'autointerp-fts-')), 'new.db'));
    try {
      db.exec(`
        INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
          VALUES (1, 'r', '{}', 'x', '{}', 'e', 's', 0, 'f', '2026-01-01', 'finished');
        INSERT INTO features (id, model, layer, kind, idx) VALUES (1, 'm', '0', 'neuron', 0), (2, 'm', '0', 'neuron', 1);
        INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at)
          VALUES (1, 1, 1, 'past tense verbs', 'e', 'v', 0, 'now'), (2, 1, 2, 'verbs of motion', 'e', 'v', 0, 'now');`);
      expect(matches(db, 'verbs')).toEqual([1, 2]);
      db.exec("UPDATE explanations SET text = 'colours' WHERE id = 1");
      expect(matches(db, 'verbs')).toEqual([2]);
      expect(matches(db, 'colour')).toEqual([1]);
      db.exec('DELETE FROM explanations WHERE id = 2');
      expect(matches(db, 'verbs')).toEqual([]);
      db.exec("INSERT INTO explanations_fts (explanations_fts) VALUES ('integrity-check')"); // throws when out of sync
    } finally {
      db.close();
    }
  });
});

describe('merged databases', () => {
  it('are searchable: merge copies explanations (the triggers index them), never the index tables themselves', () => {
    const first = buildViewerFixture();
    const second = buildViewerFixture();
    const out = join(mkdtempSync(join(tmpdir(), 'autointerp-fts-')), 'merged.db');
    mergeDatabases([first.path, second.path], out);
    const db = openDatabase(out, { readonly: true });
    try {
      const explanations = (db.prepare('SELECT COUNT(*) AS n FROM explanations').get() as { n: number }).n;
      expect(explanations).toBe(4 * 30);
      expect(matches(db, 'plural nouns')).toHaveLength(4);
    } finally {
      db.close();
    }
    const writable = openDatabase(out);
    try {
      writable.exec("INSERT INTO explanations_fts (explanations_fts) VALUES ('integrity-check')");
    } finally {
      writable.close();
    }
  });
});

describe('viewer queries', () => {
  it('quotes every word of a user query: FTS5 operators and stray quotes are text', () => {
    expect(explanationMatchQuery('plural NEAR( "nouns')).toBe('"plural"* "NEAR"* "nouns"*');
    expect(explanationMatchQuery('<> ""')).toBeNull();
  });

  /** Only the walk of the sort order; only the matching explanations; the default choice between them. */
  const strategies: Record<string, SearchTuning> = {
    walk: { walkBudget: Number.POSITIVE_INFINITY, fewMatches: 0 },
    matches: { walkBudget: 0, fewMatches: 1_000_000 },
    'walk, then matches': { walkBudget: 3, fewMatches: 1_000_000 },
    'walk, count, walk on': { walkBudget: 3, fewMatches: 1 },
  };

  /** Every page of a search, following `next` links, then back from the last page following `previous` links. */
  function everyPage(db: Database.Database, search: Omit<FeatureSearch, 'limit'>, tuning: SearchTuning) {
    const forward: number[][] = [];
    let after: SearchCursor | undefined;
    let last: SearchCursor | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page = searchFeatures(db, { ...search, limit: 4, ...(after ? { after } : {}) }, tuning);
      forward.push(page.rows.map((row) => row.featureId));
      expect(page.previous === null).toBe(after === undefined);
      if (!page.next) {
        last = page.previous;
        break;
      }
      after = page.next;
    }
    const backward: number[][] = [];
    for (let before = last, pages = 0; before !== null && pages < 50; pages++) {
      const page = searchFeatures(db, { ...search, limit: 4, before }, tuning);
      backward.unshift(page.rows.map((row) => row.featureId));
      before = page.previous;
    }
    return { forward, backward };
  }

  it.each([
    ['score-desc', undefined, 'tokens'],
    ['score-asc', undefined, 'tokens'],
    ['feature', undefined, 'tokens'],
    ['score-desc', '1', 'tokens'],
    ['feature', '2', 'TOKEN lik'],
    ['score-desc', undefined, 'plural'],
  ] as const)(
    'finds the same pages (%s, layer %s, "%s") whichever way a text search starts, forward and back',
    (sort, layer, text) => {
      const fixture = buildViewerFixture();
      const db = openDatabase(fixture.path, { readonly: true });
      try {
        const search = {
          runId: fixture.baselineRun,
          scoreKind: 'correlation.all',
          sort,
          text,
          minScore: -0.5,
          ...(layer ? { layer } : {}),
        } satisfies Omit<FeatureSearch, 'limit'>;
        const expected = everyPage(db, search, strategies.matches!);
        const ids = expected.forward.flat();
        if (text === 'plural') expect(ids).toEqual([fixture.featureId(1)]);
        else expect(ids.length).toBeGreaterThan(layer ? 6 : 20);
        expect(new Set(ids).size).toBe(ids.length);
        expect(expected.backward.slice(1)).toEqual(expected.forward.slice(1, -1)); // the first page back is whole
        for (const tuning of Object.values(strategies)) expect(everyPage(db, search, tuning)).toEqual(expected);
      } finally {
        db.close();
      }
    },
  );

  it('pages back by keyset: the page before a cursor ends just before it; near the start it is the first page', () => {
    const fixture = buildViewerFixture();
    const db = openDatabase(fixture.path, { readonly: true });
    try {
      const search = { runId: fixture.baselineRun, scoreKind: 'correlation.all', sort: 'feature' } as const;
      const all = searchFeatures(db, { ...search, limit: 500 }).rows.map((row) => row.featureId);
      expect(all).toHaveLength(30);
      const before = { value: null, featureId: all[20]! };
      const page = searchFeatures(db, { ...search, limit: 5, before });
      expect(page.rows.map((row) => row.featureId)).toEqual(all.slice(15, 20));
      expect(page.next).toEqual({ value: null, featureId: all[19] });
      expect(page.previous).toEqual({ value: null, featureId: all[15] });
      const nearStart = searchFeatures(db, { ...search, limit: 5, before: { value: null, featureId: all[2]! } });
      expect(nearStart.rows.map((row) => row.featureId)).toEqual(all.slice(0, 5));
      expect(nearStart.previous).toBeNull();
      const scored = searchFeatures(db, {
        ...search,
        sort: 'score-desc',
        limit: 3,
        before: { value: 0.5, featureId: fixture.featureId(2) },
      });
      // 0.5 is the score of features 1, 2, 6, 7, 11, …: in descending order, 11, 7 and 6 come just before 2
      expect(scored.rows.map((row) => [row.value, row.featureId])).toEqual(
        [11, 7, 6].map((index) => [0.5, fixture.featureId(index)]),
      );
    } finally {
      db.close();
    }
  });

  it('tests one explanation for the words as FTS5 matches them', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'autointerp-fts-')), 'words.db'));
    try {
      const texts = [
        'Plural nouns, such as "dogs"',
        'the token_id of commas',
        'Café au lait; naïve Straße',
        'ÉCOLE and résumé',
        '你好世界 and ünïcode',
        'x-ray v1.2 C++',
        '',
      ];
      db.exec(`
        INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
          VALUES (1, 'r', '{}', 'x', '{}', 'e', 's', 0, 'f', '2026-01-01', 'finished');`);
      const insertFeature = db.prepare(
        "INSERT INTO features (id, model, layer, kind, idx) VALUES (?, 'm', '0', 'neuron', ?)",
      );
      const insertExplanation = db.prepare(
        "INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, 1, ?, ?, 'e', 'v', 0, 'now')",
      );
      texts.forEach((text, i) => {
        insertFeature.run(i + 1, i);
        insertExplanation.run(i + 1, i + 1, text);
      });
      const queries = [
        'plural dog',
        'DOGS',
        'nouns such',
        'token id',
        'token_id',
        'tok comma',
        'cafe',
        'café',
        'naive',
        'strasse',
        'straß',
        'ecole',
        'résumé',
        'RESUME',
        '你好',
        '世界',
        'unicode',
        'x ray',
        'v1',
        '1.2',
        'c',
        'og',
      ];
      for (const query of queries) {
        const test = explanationWordTest(query);
        // beyond ASCII only FTS5 answers (explanation-words.ts)
        if (!/^[\u0000-\u007f]*$/.test(query)) {
          expect(test, query).toBeNull();
          continue;
        }
        if (test === null) throw new Error(`no word test for ${query}`);
        const byFts = matches(db, query);
        const byTest = texts.flatMap((text, i) => (test(text) ? [i + 1] : []));
        expect(byTest, query).toEqual(byFts);
      }
    } finally {
      db.close();
    }
  });

  it.each([
    ['correlation.all', 5],
    ['absdev.all', 20],
  ])(
    'counts the per-layer histograms of %s from the score stream exactly as histogramSvg bins the values (%i bins)',
    (kind, bins) => {
      const fixture = buildViewerFixture();
      const writer = openDatabase(fixture.path);
      // values on bin edges, below the range and above it
      writer
        .prepare('UPDATE scores SET value = ? WHERE run_id = ? AND kind = ? AND feature_id = ?')
        .run(-3, fixture.baselineRun, kind, fixture.featureId(4));
      writer
        .prepare('UPDATE scores SET value = ? WHERE run_id = ? AND kind = ? AND feature_id = ?')
        .run(1.5, fixture.baselineRun, kind, fixture.featureId(8));
      writer.close();
      const db = openDatabase(fixture.path, { readonly: true });
      try {
        const range = scoreRange(kind, [minimumScore(db, fixture.baselineRun, kind)!]);
        const histograms = scoreHistogramsByGroup(db, fixture.baselineRun, kind, { ...range, bins });
        expect(histograms.map((group) => group.layer).sort()).toEqual(['0', '1', '2']);
        for (const group of histograms) {
          const values = (
            db
              .prepare(
                `SELECT s.value FROM scores s JOIN features f ON f.id = s.feature_id
               WHERE s.run_id = ? AND s.kind = ? AND s.value IS NOT NULL AND f.layer = ?`,
              )
              .all(fixture.baselineRun, kind, group.layer) as { value: number }[]
          ).map((row) => row.value);
          const options = { title: `layer ${group.layer}`, ...range, bins };
          expect(histogramSvgOfCounts(group.counts, group.clipped, options)).toBe(histogramSvg(values, options));
        }
        expect(histograms.reduce((sum, group) => sum + group.clipped, 0)).toBe(2); // -3 and 1.5
      } finally {
        db.close();
      }
    },
  );

  it('reads a page sorted by score by seeking in the index: no sort step, no scan of the rows before it', () => {
    const fixture = buildViewerFixture();
    const db = openDatabase(fixture.path, { readonly: true });
    try {
      const plan = (sql: string, ...parameters: unknown[]) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[]).map((row) => row.detail);
      const details = plan(
        `SELECT s.feature_id FROM scores s JOIN features f ON f.id = s.feature_id
         WHERE s.run_id = ? AND s.kind = ? AND (s.value, s.feature_id) < (?, ?) ORDER BY s.value DESC, s.feature_id DESC LIMIT 5`,
        1,
        'correlation.all',
        0.5,
        10,
      );
      expect(details.join('\n')).toMatch(
        /SEARCH s USING (COVERING )?INDEX scores_by_run_kind_value \(run_id=\? AND kind=\? AND/,
      );
      expect(details.join('\n')).not.toMatch(/TEMP B-TREE/);
      const page = searchFeatures(db, {
        runId: fixture.baselineRun,
        scoreKind: 'correlation.all',
        sort: 'score-desc',
        limit: 2,
      });
      expect(page.rows.map((row) => row.value)).toEqual([0.9, 0.9]);
      expect(page.next).toEqual({ value: 0.9, featureId: page.rows[1]!.featureId });
    } finally {
      db.close();
    }
  });
});
