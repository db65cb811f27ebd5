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
import { openDatabase } from '../../src/store/database.ts';
import { mergeDatabases } from '../../src/store/merge.ts';
import { migrations } from '../../src/store/migrations.ts';
import { explanationMatchQuery, searchFeatures, type SearchCursor } from '../../src/store/viewer-queries.ts';
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

  it.each([
    ['score-desc', undefined],
    ['score-asc', undefined],
    ['feature', undefined],
    ['score-desc', '1'],
    ['feature', '2'],
  ] as const)(
    'finds the same pages (%s, layer %s) whether a text search starts from the matches or from the sort order',
    (sort, layer) => {
      const fixture = buildViewerFixture();
      const db = openDatabase(fixture.path, { readonly: true });
      try {
        const all = (fewMatches: number) => {
          const ids: number[] = [];
          let after: SearchCursor | undefined;
          for (let pages = 0; pages < 50; pages++) {
            const page = searchFeatures(
              db,
              {
                runId: fixture.baselineRun,
                scoreKind: 'correlation.all',
                sort,
                text: 'tokens',
                limit: 4,
                minScore: -0.5,
                ...(layer ? { layer } : {}),
                ...(after ? { after } : {}),
              },
              { fewMatches },
            );
            ids.push(...page.rows.map((row) => row.featureId));
            if (!page.next) break;
            after = page.next;
          }
          return ids;
        };
        const fromMatches = all(1_000);
        expect(fromMatches.length).toBeGreaterThan(layer ? 6 : 20);
        expect(all(1)).toEqual(fromMatches);
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
