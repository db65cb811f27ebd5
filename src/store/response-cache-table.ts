/**
 * @module store/response-cache-table — the `llm_cache` table as llm/response-cache.ts's ResponseCache: the response
 * stored as JSON under its cache key (never with `cached: true`), first answer kept.
 */
import type { LlmResult } from '../llm/types.ts';
import type { ResponseCache } from '../llm/response-cache.ts';
import type { SqliteDatabase } from './database.ts';

/** The llm_cache table as a ResponseCache (statements prepared once). */
export function createSqliteResponseCache(db: SqliteDatabase): ResponseCache {
  const select = db.prepare('SELECT response FROM llm_cache WHERE key = ?');
  const insert = db.prepare(
    'INSERT OR IGNORE INTO llm_cache (key, provider, response, created_at) VALUES (?, ?, ?, ?)',
  );
  return {
    get(key) {
      const row = select.get(key) as { response: string } | undefined;
      return row ? (JSON.parse(row.response) as LlmResult) : undefined;
    },
    set(key, providerId, result) {
      insert.run(key, providerId, JSON.stringify({ ...result, cached: false }), new Date().toISOString());
    },
  };
}
