/**
 * The explanation word test in JavaScript agrees with FTS5 (unicode61, remove_diacritics 1) for every ASCII query on
 * every text, whatever code points beyond ASCII it holds (the table is asked of FTS5 here, code point by code point),
 * and a text search gives the same rows whether it walks the score order or starts from the FTS5 matches.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { openDatabase } from '../../src/store/database.ts';
import { explanationMatchQuery, explanationWordTest } from '../../src/store/explanation-words.ts';
import { UNICODE61_RANGES } from '../../src/store/unicode61-table.ts';
import { searchFeatures, type FeatureSearch, type SearchTuning } from '../../src/store/viewer-queries.ts';

const isSurrogate = (codePoint: number) => codePoint >= 0xd800 && codePoint <= 0xdfff;

/** The code points to ask FTS5 about: all of U+0080–U+FFFF, and beyond it each listed range's ends and neighbours. */
function probedCodePoints(): number[] {
  const probed = new Set<number>();
  for (let codePoint = 0x80; codePoint <= 0xffff; codePoint++) if (!isSurrogate(codePoint)) probed.add(codePoint);
  for (const entry of UNICODE61_RANGES.split(' ').filter((text) => text !== '')) {
    const [first, last = first] = entry
      .slice(0, -1)
      .split('-')
      .map((hex) => Number.parseInt(hex, 16));
    for (const codePoint of [first! - 1, first!, last!, last! + 1])
      if (codePoint >= 0x10000 && codePoint <= 0x10ffff) probed.add(codePoint);
  }
  for (let codePoint = 0x10000; codePoint <= 0x10ffff; codePoint += 251) probed.add(codePoint);
  return [...probed].sort((a, b) => a - b);
}

describe('explanation words beyond ASCII', () => {
  it('agrees with FTS5 on every ASCII query for the text a·b, for every code point · beyond ASCII', () => {
    const db = new Database(':memory:');
    db.exec("CREATE VIRTUAL TABLE probe USING fts5(text); CREATE VIRTUAL TABLE terms USING fts5vocab(probe, 'row');");
    const codePoints = probedCodePoints();
    const texts = new Map<number, string>();
    const insert = db.prepare('INSERT INTO probe (rowid, text) VALUES (?, ?)');
    db.transaction(() => {
      for (const codePoint of codePoints) {
        const text = `a${String.fromCodePoint(codePoint)}b`;
        texts.set(codePoint, text);
        insert.run(codePoint, text);
      }
    })();
    // every ASCII token FTS5 made (a, b, ab, and a…b for each character that folds to an ASCII one), and prefixes
    const asciiTerms = (db.prepare('SELECT term FROM terms').pluck().all() as string[]).filter((term) =>
      /^[a-z0-9]+$/.test(term),
    );
    expect(asciiTerms).toEqual(expect.arrayContaining(['a', 'b', 'ab', 'asb', 'akb'])); // ſ → s, K (Kelvin) → k
    const queries = new Set(['a', 'b', 'ab', 'A', 'B']);
    for (const term of asciiTerms) for (let end = 1; end <= term.length; end++) queries.add(term.slice(0, end));
    const matching = db.prepare('SELECT rowid FROM probe WHERE probe MATCH ?').pluck();
    const disagreements: string[] = [];
    for (const query of queries) {
      const test = explanationWordTest(query)!;
      const byFts = new Set(matching.all(explanationMatchQuery(query)) as number[]);
      for (const [codePoint, text] of texts)
        if (test(text) !== byFts.has(codePoint))
          disagreements.push(`U+${codePoint.toString(16)} query "${query}": FTS5 ${byFts.has(codePoint)}`);
    }
    db.close();
    expect(disagreements.slice(0, 20)).toEqual([]);
  });

  it('folds as FTS5 does where JavaScript case rules differ (ſ, K, µ, ς, İ, ligatures, full-width)', () => {
    const db = new Database(':memory:');
    db.exec('CREATE VIRTUAL TABLE probe USING fts5(text)');
    const texts = ['ſtar', 'Kelvin', 'µs', 'ΟΔΟΣ οδος', 'İstanbul', 'ﬁnance', 'ｔｅｓｔ', 'cafe\u0301', 'naïve', 'x²'];
    texts.forEach((text, index) => db.prepare('INSERT INTO probe (rowid, text) VALUES (?, ?)').run(index + 1, text));
    for (const query of [
      'star',
      'kelvin',
      'ms',
      's',
      'istanbul',
      'stanbul',
      'finance',
      'nance',
      'test',
      'cafe',
      'naive',
      'x2',
      'x',
    ]) {
      const test = explanationWordTest(query)!;
      const byFts = db
        .prepare('SELECT rowid FROM probe WHERE probe MATCH ? ORDER BY rowid')
        .pluck()
        .all(explanationMatchQuery(query));
      expect(
        texts.flatMap((text, index) => (test(text) ? [index + 1] : [])),
        query,
      ).toEqual(byFts);
    }
    db.close();
  });

  it('has no JavaScript test for a query beyond ASCII (FTS5 answers it)', () => {
    expect(explanationWordTest('café')).toBeNull();
    expect(explanationWordTest('µs')).toBeNull();
    expect(explanationWordTest('  tok  ')).not.toBeNull();
  });

  it('gives the same pages whether the search walks the score order or starts from the FTS5 matches', () => {
    const db = openDatabase(':memory:');
    const now = '2026-01-01T00:00:00Z';
    db.prepare(
      `INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, finished_at, status)
       VALUES (1, 'r', '{}', 't', '{}', 'e', 's', 0, 'x', ?, ?, 'finished')`,
    ).run(now, now);
    const words = [
      'token',
      'the',
      'is',
      'café',
      'CAFE',
      'ΟΔΟΣ',
      'οδοσ',
      'straße',
      'µs',
      'naïve',
      'ſtar',
      'Kelvin',
      'x²',
    ];
    const random = mulberry32(7);
    const insertFeature = db.prepare(
      "INSERT INTO features (id, model, layer, kind, idx, sae) VALUES (?, 'm', ?, 'neuron', ?, '')",
    );
    const insertUnit = db.prepare(
      "INSERT INTO run_features (run_id, feature_id, status, finished_at) VALUES (1, ?, 'scored', ?)",
    );
    const insertExplanation = db.prepare(
      "INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (1, ?, ?, 'e', 'v', 0, ?)",
    );
    const insertScore = db.prepare(
      "INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing) VALUES (1, ?, ?, 'correlation.all', ?, NULL, 1, 0)",
    );
    db.transaction(() => {
      for (let id = 1; id <= 400; id++) {
        insertFeature.run(id, String(id % 2), id);
        insertUnit.run(id, now);
        const text = Array.from({ length: 3 }, () => words[Math.floor(random() * words.length)]).join(' ');
        const explanation = insertExplanation.run(id, text, now).lastInsertRowid;
        insertScore.run(id, explanation, Math.round(random() * 20) / 20);
      }
    })();
    const walk: SearchTuning = { walkBudget: 1e9, fewMatches: 0 };
    const fromMatches: SearchTuning = { walkBudget: 0, fewMatches: 1e9 };
    const pagesOf = (search: FeatureSearch, tuning: SearchTuning) => {
      const pages: number[][] = [];
      let after: FeatureSearch['after'];
      for (let page = 0; page < 100; page++) {
        const result = searchFeatures(db, { ...search, ...(after ? { after } : {}) }, tuning);
        pages.push(result.rows.map((row) => row.featureId));
        if (!result.next) break;
        after = result.next;
      }
      return pages;
    };
    for (const text of [
      'star',
      'kelvin',
      'ms',
      'cafe',
      'naive',
      'x2',
      'café',
      'µs',
      'μs',
      'οδος',
      'ΟΔΟΣ',
      'strasse',
      'ſ',
    ])
      for (const sort of ['score-desc', 'feature'] as const) {
        const search: FeatureSearch = { runId: 1, scoreKind: 'correlation.all', sort, text, limit: 7 };
        const walked = pagesOf(search, walk);
        expect(walked, `${text} ${sort}`).toEqual(pagesOf(search, fromMatches));
      }
    db.close();
  });
});
