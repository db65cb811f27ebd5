/** @module common/is-record — the type guard for a parsed JSON object (not null, not an array). */

/** Whether `value` is a plain object whose fields can be read by name (e.g. parsed JSON). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
