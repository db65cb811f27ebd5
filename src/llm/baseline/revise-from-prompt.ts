/**
 * @module llm/baseline/revise-from-prompt — the rule-based explainer's answer to a revision prompt
 * (explain/build-revise-prompt.ts; the headings are repeated here because llm/ sits below explain/): it takes the
 * quoted tokens of the current explanation, drops those the simulation predicted high where the neuron was silent,
 * puts those where the neuron fired but the prediction was low first (largest mistake first), and names the result as
 * a token list. Deterministic; it reads only the prompt.
 */
import { formatTokenListExplanation } from './explain-from-prompt.ts';
import { normalizeToken } from './interpret-explanation.ts';

const CURRENT_EXPLANATION_LABEL = 'Current explanation:';
const OVER_PREDICTED_HEADING = 'Predicted high, but the neuron was silent:';
const UNDER_PREDICTED_HEADING = 'The neuron fired, but the prediction was low:';

/** A revision prompt: it names the current explanation and both kinds of mistakes. */
export const isRevisePrompt = (text: string): boolean =>
  text.includes(CURRENT_EXPLANATION_LABEL) && text.includes(OVER_PREDICTED_HEADING);

/** The `"token"<TAB>predicted P<TAB>actual A` lines of the section under `heading`. */
function mistakeTokens(text: string, heading: string): string[] {
  const start = text.indexOf(heading);
  if (start === -1) return [];
  const tokens: string[] = [];
  for (const line of text
    .slice(start + heading.length)
    .split('\n')
    .slice(1)) {
    const match = /^("(?:[^"\\]|\\.)*")\tpredicted /.exec(line);
    if (!match) break;
    tokens.push(normalizeToken(JSON.parse(match[1]!) as string));
  }
  return tokens;
}

/** The quoted tokens of the current explanation's line. */
function currentTokens(text: string): string[] {
  const start = text.indexOf(CURRENT_EXPLANATION_LABEL);
  const line = text.slice(start).split('\n')[0] ?? '';
  return [...line.matchAll(/"([^"]+)"|'([^']+)'/g)].map((match) => normalizeToken(match[1] ?? match[2] ?? ''));
}

/** The completion of a revision prompt (to follow "…the main thing this neuron does is find"). */
export function reviseFromPrompt(text: string, maxTokensNamed = 8): string {
  const over = new Set(mistakeTokens(text, OVER_PREDICTED_HEADING));
  const under = mistakeTokens(text, UNDER_PREDICTED_HEADING);
  const kept = currentTokens(text).filter((token) => token.length > 0 && !over.has(token));
  const named = [...new Set([...under, ...kept])].slice(0, maxTokensNamed);
  return formatTokenListExplanation(named);
}
