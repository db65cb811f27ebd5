/** Checks that no byte sequence of a secret reached a SQLite database or its WAL file (for API-key tests). */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

export function expectNotInDatabaseFiles(dbPath: string, ...secrets: string[]): void {
  for (const file of [dbPath, `${dbPath}-wal`]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      continue; // no WAL file: nothing to scan
    }
    for (const secret of secrets) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).toBe(false);
  }
}
