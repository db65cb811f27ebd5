/**
 * @module explain/parse-explanation — cleans an explainer completion into one explanation phrase. A completion
 * that yields nothing usable is an error with a reason (never a sentinel string stored as if valid).
 */
import { EXPLANATION_PREFIX } from './build-explain-prompt.ts';
import { AutointerpError } from '../common/errors.ts';

export class ExplanationParseError extends AutointerpError {
  override readonly name = 'ExplanationParseError';
}

/**
 * First line of the completion, without a repeated "the main thing this neuron does is find" prefix, wrapping
 * quotes, a trailing period or surrounding whitespace. Throws ExplanationParseError when nothing is left.
 */
export function parseExplanation(completion: string): string {
  let text = completion.replace(/\r/g, '').trimStart();
  text = text.split('\n')[0] ?? '';
  const prefixAt = text.toLowerCase().indexOf(EXPLANATION_PREFIX);
  if (prefixAt >= 0 && prefixAt < 40) text = text.slice(prefixAt + EXPLANATION_PREFIX.length);
  text = text.trim().replace(/\.+$/, '').trim();
  if (/^".*"$/.test(text) && text.indexOf('"', 1) === text.length - 1) text = text.slice(1, -1).trim();
  text = text.replace(/\.+$/, '').trim();
  if (text.length === 0)
    throw new ExplanationParseError(`explainer returned no explanation: ${JSON.stringify(completion.slice(0, 80))}`);
  return text;
}
