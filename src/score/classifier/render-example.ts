/**
 * @module score/classifier/render-example — an example window as the judge reads it: its tokens joined (tabs and
 * line breaks written as visible escapes, as in every prompt), and for fuzzing `<<` `>>` around each run of adjacent
 * highlighted tokens, the leading space of a run kept outside the marks (`on <<Sunday night>>`).
 */
import { displayToken } from '../../records/format-records.ts';

/** The window's text, with the highlighted positions (if any) marked. */
export function renderExample(tokens: readonly string[], highlighted: readonly number[] = []): string {
  const marked = new Set(highlighted);
  let text = '';
  tokens.forEach((raw, position) => {
    const token = displayToken(raw);
    const isMarked = marked.has(position);
    const opens = isMarked && !marked.has(position - 1);
    const closes = isMarked && !marked.has(position + 1);
    if (opens) {
      const leading = /^\s*\S/.test(token) ? (token.match(/^\s*/)?.[0] ?? '') : '';
      text += `${leading}<<${token.slice(leading.length)}`;
    } else {
      text += token;
    }
    if (closes) text += '>>';
  });
  return text;
}
