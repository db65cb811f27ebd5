/**
 * @module records/format-records — the reference's `token<TAB>value` record blocks for prompts (its
 * `format_activation_records`), shared by explain and simulate.
 */
import { normalizeActivations } from './normalize.ts';
import type { ActivationRecord } from './types.ts';

export const UNKNOWN_ACTIVATION = 'unknown';

/**
 * Token display for prompts. A tab or newline inside a token would break the `token<TAB>value` line format (the
 * reference writes them raw and mis-parses); we write them as visible escapes `\t`, `\n`, `\r`.
 */
export function displayToken(token: string): string {
  if (!/[\n\t\r]/.test(token)) return token;
  return token.replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r');
}

export interface FormatRecordsOptions {
  /** Drop tokens whose normalized value is 0 (the sparse repetition block). */
  omitZeros?: boolean;
  /** Per record: values before this index are written as "unknown". */
  firstRevealedIndices?: readonly number[];
  /** Write every value as "unknown". */
  hideActivations?: boolean;
}

function formatRecord(record: ActivationRecord, maxActivation: number, options: FormatRecordsOptions, index: number): string {
  const normalized = normalizeActivations(record.activations, maxActivation);
  const startIndex = options.firstRevealedIndices?.[index] ?? 0;
  const lines: string[] = [];
  record.tokens.forEach((token, position) => {
    const value = normalized[position]!;
    if (options.omitZeros && value === 0) return;
    const shown = options.hideActivations || position < startIndex ? UNKNOWN_ACTIVATION : String(value);
    lines.push(`${displayToken(token)}\t${shown}`);
  });
  return lines.join('\n');
}

/** `\n<start>\n…\n<end>\n<start>\n…\n<end>\n`, values normalized to 0–10 against `maxActivation`. */
export function formatActivationRecords(
  records: readonly ActivationRecord[],
  maxActivation: number,
  options: FormatRecordsOptions = {},
): string {
  return `\n<start>\n${records.map((r, i) => formatRecord(r, maxActivation, options, i)).join('\n<end>\n<start>\n')}\n<end>\n`;
}
