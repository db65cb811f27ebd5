/**
 * @module report/csv — RFC 4180 CSV: a cell is quoted when it holds a comma, a quote, a line break or
 * leading/trailing space (quotes doubled); null and undefined are empty cells; numbers keep full precision.
 * Lines end with CRLF as the RFC says (pandas, R and spreadsheets all read it).
 */

export type CsvValue = string | number | boolean | null | undefined;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole CSV document: the header line, then one line per row (each row in header order). */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return `${[header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
