/**
 * @module store/record-windows — a feature's activation windows (tokens and activations), stored once per feature
 * in `record_windows` (migration 12) rather than once per run: a second run over the same features, a regress
 * candidate or a best-of-n variant adds only its `records` rows (run, split, source, position), each pointing at its
 * window. A window is found by its feature and the digest of its content, so the same window written by two runs, or
 * merged in from two databases, is one row.
 *
 * The digest is sha256 over the tokens' JSON text, a NUL byte (never in JSON text: JSON.stringify escapes control
 * characters) and the activations' float32 bytes (store/float32-column): the two encodings as stored, so equal
 * digests mean equal stored columns. Measured by bench/store-write.ts.
 */
import { hash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { encodeFloat32Column } from './float32-column.ts';

/** The bytes a digest is taken of, laid out in one reused buffer (half the time of a `createHash` per window). */
let scratch = Buffer.allocUnsafe(1 << 14);

/** The digest of a window as stored: its tokens' JSON text and its activations' float32 BLOB. */
export function windowDigest(tokensJson: string, activations: Uint8Array): Buffer {
  const most = tokensJson.length * 3 + 1 + activations.byteLength; // UTF-8 takes at most 3 bytes a UTF-16 unit
  if (scratch.byteLength < most) scratch = Buffer.allocUnsafe(most);
  const textBytes = scratch.write(tokensJson, 0, 'utf8');
  scratch[textBytes] = 0;
  scratch.set(activations, textBytes + 1);
  return hash('sha256', scratch.subarray(0, textBytes + 1 + activations.byteLength), 'buffer');
}

/** A window as the pipeline holds it. */
export interface WindowContent {
  tokens: readonly string[];
  activations: readonly number[];
}

/** Finds or adds windows of a database's features (statements prepared once; call inside the caller's transaction). */
export class RecordWindowWriter {
  private readonly insert: Statement;
  private readonly find: Statement;
  private readonly digestsOfFeature: Statement;

  constructor(db: Database) {
    this.insert = db.prepare(
      `INSERT INTO record_windows (feature_id, digest, tokens, activations) VALUES (?, ?, ?, ?)
       ON CONFLICT (feature_id, digest) DO NOTHING`,
    );
    this.find = db.prepare('SELECT id FROM record_windows WHERE feature_id = ? AND digest = ?').pluck();
    this.digestsOfFeature = db.prepare('SELECT digest, id FROM record_windows WHERE feature_id = ?').raw();
  }

  /** The id of the feature's window with these stored columns, added when it is new. */
  idOfStored(featureId: number, tokensJson: string, activations: Buffer): number {
    const digest = windowDigest(tokensJson, activations);
    const added = this.insert.run(featureId, digest, tokensJson, activations);
    return added.changes === 1 ? Number(added.lastInsertRowid) : (this.find.get(featureId, digest) as number);
  }

  /** The id of the feature's window of `tokens` and `activations`, added when it is new. */
  idOf(featureId: number, tokens: readonly string[], activations: readonly number[]): number {
    return this.idOfStored(featureId, JSON.stringify(tokens), encodeFloat32Column(activations));
  }

  /**
   * The ids of a feature's windows, in order, each added when new: the ids of the windows the feature already has
   * are read in one query (its digests, from the unique index), so a second run over the feature adds nothing and
   * makes no failed inserts.
   */
  idsOf(featureId: number, windows: readonly WindowContent[]): number[] {
    const known = new Map<string, number>();
    for (const [digest, id] of this.digestsOfFeature.all(featureId) as [Buffer, number][])
      known.set(digest.toString('latin1'), id);
    return windows.map((window) => {
      const tokensJson = JSON.stringify(window.tokens);
      const activations = encodeFloat32Column(window.activations);
      const digest = windowDigest(tokensJson, activations);
      const key = digest.toString('latin1');
      let id = known.get(key);
      if (id === undefined) {
        const added = this.insert.run(featureId, digest, tokensJson, activations);
        id = added.changes === 1 ? Number(added.lastInsertRowid) : (this.find.get(featureId, digest) as number);
        known.set(key, id);
      }
      return id;
    });
  }
}
