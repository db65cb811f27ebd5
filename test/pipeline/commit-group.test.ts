import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createCommitGroup } from '../../src/pipeline/commit-group.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-commit-group-'));
let databases = 0;

/** A WAL database with a `saved` table, a second connection that sees only what was committed, and a timer by hand. */
function setUp(maxSaves: number) {
  const path = join(directory, `group-${++databases}.db`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE saved (n INTEGER NOT NULL);
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`);
  db.pragma('foreign_keys = ON');
  const reader = new Database(path, { readonly: true });
  const committed = () => (reader.prepare('SELECT count(*) AS n FROM saved').get() as { n: number }).n;
  const timers: (() => void)[] = [];
  let cancelled = 0;
  const group = createCommitGroup(db, {
    maxSaves,
    maxDelayMs: 100,
    schedule: (commit) => {
      timers.push(commit);
      return () => void (cancelled += 1);
    },
  });
  const insert = db.prepare('INSERT INTO saved (n) VALUES (?)');
  const save = db.transaction((n: number) => void insert.run(n));
  return { db, group, committed, timers, cancelled: () => cancelled, save };
}

describe('createCommitGroup', () => {
  it('saves share one commit, made when the group holds maxSaves of them', () => {
    const { db, group, committed, save } = setUp(3);
    group.write(() => save(1));
    group.write(() => save(2));
    expect(db.inTransaction).toBe(true);
    expect(committed()).toBe(0); // not yet visible to another connection
    group.write(() => save(3));
    expect(db.inTransaction).toBe(false);
    expect(committed()).toBe(3);
    group.write(() => save(4)); // the next save opens the next group
    expect(committed()).toBe(3);
    group.flush();
    expect(committed()).toBe(4);
  });

  it('a group is committed when its timer fires, and a full group cancels its timer', () => {
    const { group, committed, timers, cancelled, save } = setUp(2);
    group.write(() => save(1));
    expect(timers).toHaveLength(1);
    timers[0]!();
    expect(committed()).toBe(1);
    group.write(() => save(2));
    group.write(() => save(3));
    expect(timers).toHaveLength(2);
    expect(cancelled()).toBe(1);
    expect(committed()).toBe(3);
  });

  it('a save that throws undoes only its own savepoint; the others of its group are committed', () => {
    const { group, committed, save, db } = setUp(10);
    group.write(() => save(1));
    const failing = db.transaction(() => {
      save(2);
      throw new Error('disk full');
    });
    expect(() => group.write(() => failing())).toThrow('disk full');
    group.close();
    expect(committed()).toBe(1);
    expect(db.prepare('SELECT n FROM saved').all()).toEqual([{ n: 1 }]);
  });

  it('a timed commit that fails is rolled back and thrown by the next flush; close never throws', () => {
    const { group, committed, timers, db, save } = setUp(10);
    group.write(() => save(1));
    group.write(() => db.prepare('INSERT INTO child (parent_id) VALUES (42)').run()); // fails at COMMIT
    timers[0]!();
    expect(db.inTransaction).toBe(false);
    expect(() => group.flush()).toThrow(/FOREIGN KEY constraint failed/);
    expect(committed()).toBe(0);
    group.write(() => db.prepare('INSERT INTO child (parent_id) VALUES (43)').run());
    expect(() => group.close()).not.toThrow();
    expect(db.inTransaction).toBe(false);
    group.write(() => save(2)); // a clean start after both failures
    group.flush();
    expect(committed()).toBe(1);
  });

  it("inside another's transaction it neither opens nor commits one", () => {
    const { group, committed, db, save, timers } = setUp(1);
    db.exec('BEGIN');
    group.write(() => save(1));
    expect(timers).toHaveLength(0);
    expect(db.inTransaction).toBe(true);
    group.flush();
    expect(committed()).toBe(0);
    db.exec('COMMIT');
    expect(committed()).toBe(1);
  });
});
