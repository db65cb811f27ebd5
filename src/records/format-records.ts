/**
 * @module records/format-records — the reference's `token<TAB>value` record blocks for prompts (its
 * `format_activation_records`), shared by explain and simulate.
 */
import { normalizeActivation } from './normalize.ts';

/** "0".."10", the text of each normalized value. */
const VALUE_TEXT = Array.from({ length: 11 }, (_, value) => String(value));
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

function formatRecord(
  record: ActivationRecord,
  maxActivation: number,
  options: FormatRecordsOptions,
  index: number,
): string {
  const startIndex = options.firstRevealedIndices?.[index] ?? 0;
  const { tokens, activations } = record;
  let text = '';
  for (let position = 0; position < tokens.length; position++) {
    const value = normalizeActivation(activations[position]!, maxActivation);
    if (options.omitZeros && value === 0) continue;
    const shown = options.hideActivations || position < startIndex ? UNKNOWN_ACTIVATION : VALUE_TEXT[value]!;
    text +=
      text.length === 0
        ? `${displayToken(tokens[position]!)}\t${shown}`
        : `\n${displayToken(tokens[position]!)}\t${shown}`;
  }
  return text;
}

/** `\n<start>\n…\n<end>\n<start>\n…\n<end>\n`, values normalized to 0–10 against `maxActivation`. */
export function formatActivationRecords(
  records: readonly ActivationRecord[],
  maxActivation: number,
  options: FormatRecordsOptions = {},
): string {
  return `\n<start>\n${records.map((r, i) => formatRecord(r, maxActivation, options, i)).join('\n<end>\n<start>\n')}\n<end>\n`;
}
