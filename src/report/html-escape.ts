/**
 * @module report/html-escape — the only ways text reaches the HTML report: escaped for element content and
 * attribute values, or embedded as JSON in a `<script type="application/json">` block with every character that
 * could end the block or start markup written as a \u escape.
 */

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside element content and inside double- or single-quoted attribute values. */
export function escapeHtml(text: string | number | null | undefined): string {
  if (text === null || text === undefined) return '';
  return String(text).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` (so neither `</script>` nor `<!--` can
 * appear) and U+2028 / U+2029 become \u escapes; JSON.parse reads them back unchanged.
 */
export function jsonForScriptBlock(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
