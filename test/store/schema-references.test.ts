import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/database.ts';
import { copiedTables } from '../../src/store/merge-copy.ts';
import { inReferenceOrder, readTableShape, tableNames } from '../../src/store/schema-references.ts';

const migrated = () => {
  const db = new Database(':memory:');
  migrate(db);
  return db;
};

describe('schema references: what merge remaps, read from the schema', () => {
  it("reads each table's id key and the columns that refer to other tables, with their NOT NULL", () => {
    const db = migrated();
    const scores = readTableShape(db, 'scores');
    expect(scores.hasIdKey).toBe(true);
    expect(
      scores.foreignKeys
        .map(({ column, table, notNull }) => ({ column, table, notNull }))
        .sort((a, b) => a.column.localeCompare(b.column)),
    ).toEqual([
      { column: 'explanation_id', table: 'explanations', notNull: false },
      { column: 'feature_id', table: 'features', notNull: true },
      { column: 'run_id', table: 'runs', notNull: true },
    ]);
    expect(readTableShape(db, 'run_features').hasIdKey).toBe(false); // keyed by (run_id, feature_id)
    expect(readTableShape(db, 'llm_calls').foreignKeys.find((key) => key.column === 'run_id')?.notNull).toBe(false);
  });

  it('copies every table of the schema without a rule of its own, each after the tables it refers to', () => {
    const db = migrated();
    const tables = copiedTables(db).map((shape) => shape.name);
    expect([...tables].sort()).toEqual([
      'explanation_candidates',
      'explanations',
      'judgements',
      'llm_batch_requests',
      'llm_batches',
      'llm_calls',
      'records',
      'run_features',
      'scores',
      'simulations',
    ]);
    const copiedBefore = (a: string, b: string) => expect(tables.indexOf(a)).toBeLessThan(tables.indexOf(b));
    copiedBefore('records', 'simulations');
    copiedBefore('explanations', 'simulations');
    copiedBefore('explanations', 'scores');
    copiedBefore('llm_batches', 'llm_batch_requests');
    expect(tableNames(db)).toContain('run_leases'); // in the schema, never copied (a process's hold, not a result)
    expect(tables).not.toContain('run_leases');
  });

  it('a table added later is copied with its references remapped; one whose reference merge cannot remap is refused', () => {
    const db = migrated();
    db.exec(
      'CREATE TABLE run_notes (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id), score_id INTEGER REFERENCES scores(id), text TEXT)',
    );
    const notes = copiedTables(db).find((shape) => shape.name === 'run_notes')!;
    expect(notes.hasIdKey).toBe(true);
    expect(notes.foreignKeys.map((key) => key.table).sort()).toEqual(['runs', 'scores']);
    db.exec('CREATE TABLE sae_notes (id INTEGER PRIMARY KEY, sae_id INTEGER NOT NULL REFERENCES saes(id))');
    expect(() => copiedTables(db)).toThrow(/merge cannot remap sae_notes\.sae_id: it refers to saes\.id/);
  });

  it('orders tables by reference (ties in the given order) and refuses a cycle', () => {
    const shape = (name: string, refersTo: string[]) => ({
      name,
      columns: [],
      hasIdKey: true,
      foreignKeys: refersTo.map((table) => ({ column: `${table}_id`, table, referencedColumn: 'id', notNull: true })),
    });
    expect(
      inReferenceOrder([shape('c', ['b']), shape('a', []), shape('b', ['a', 'outside'])]).map((s) => s.name),
    ).toEqual(['a', 'b', 'c']);
    expect(inReferenceOrder([shape('self', ['self'])]).map((s) => s.name)).toEqual(['self']);
    expect(() => inReferenceOrder([shape('x', ['y']), shape('y', ['x'])])).toThrow(
      /x, y refer to each other in a cycle/,
    );
  });
});
