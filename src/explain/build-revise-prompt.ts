/**
 * @module explain/build-revise-prompt — the revision prompt (`run --revise K`): an explanation and where its
 * simulation went wrong on held-out calibration records — tokens it predicted high where the neuron was silent, and
 * tokens where the neuron fired but it predicted low — each with a few tokens of context, on the 0–10 scale. The
 * user turn ends with "the main thing this neuron does is find", which the explainer completes (parse-explanation).
 * One line per mistake, `"token"<TAB>predicted P<TAB>actual A<TAB>context: …`, so a reader (and the offline
 * baseline) can take it apart.
 */
import type { ChatMessage } from '../llm/types.ts';
import { normalizeActivation } from '../records/normalize.ts';
import { EXPLANATION_PREFIX } from './build-explain-prompt.ts';
import { loadReviseTemplate, type ReviseTemplate } from './revise-template.ts';

/** One simulated record: tokens, true raw activations, the simulation's expected values (0–10; null = missing). */
export interface SimulatedTokens {
  tokens: readonly string[];
  activations: readonly number[];
  expected: readonly (number | null)[];
}

/** One mistaken token: the simulation's value and the true one, both on the 0–10 scale. */
export interface SimulationMistake {
  token: string;
  predicted: number;
  actual: number;
  /** The tokens before it (up to the template's `contextTokens`). */
  before: string;
}

/** A token counts as a mistake when prediction and truth differ by at least this much on the 0–10 scale. */
export const MIN_MISTAKE = 2;

export const OVER_PREDICTED_HEADING = 'Predicted high, but the neuron was silent:';
export const UNDER_PREDICTED_HEADING = 'The neuron fired, but the prediction was low:';
export const CURRENT_EXPLANATION_LABEL = 'Current explanation:';

/**
 * The worst mistakes each way, one per distinct token (its largest), largest first: `over` = predicted above the
 * truth, `under` = below. `maxActivation` scales the true activations to 0–10.
 */
export function simulationMistakes(
  records: readonly SimulatedTokens[],
  maxActivation: number,
  template: Pick<ReviseTemplate, 'maxErrorsShown' | 'contextTokens'>,
): { over: SimulationMistake[]; under: SimulationMistake[] } {
  const over = new Map<string, SimulationMistake>();
  const under = new Map<string, SimulationMistake>();
  for (const record of records) {
    record.tokens.forEach((token, index) => {
      const expected = record.expected[index];
      if (expected === null || expected === undefined) return;
      const actual = normalizeActivation(record.activations[index] ?? 0, maxActivation);
      const predicted = Math.round(expected);
      const difference = predicted - actual;
      if (Math.abs(difference) < MIN_MISTAKE) return;
      const bucket = difference > 0 ? over : under;
      const previous = bucket.get(token);
      if (previous && Math.abs(previous.predicted - previous.actual) >= Math.abs(difference)) return;
      const before = record.tokens.slice(Math.max(0, index - template.contextTokens), index).join('');
      bucket.set(token, { token, predicted, actual, before });
    });
  }
  const worst = (bucket: Map<string, SimulationMistake>) =>
    [...bucket.values()]
      .sort((a, b) => Math.abs(b.predicted - b.actual) - Math.abs(a.predicted - a.actual))
      .slice(0, template.maxErrorsShown);
  return { over: worst(over), under: worst(under) };
}

const mistakeLine = (mistake: SimulationMistake) =>
  `${JSON.stringify(mistake.token)}\tpredicted ${mistake.predicted}\tactual ${mistake.actual}\tcontext: …${mistake.before.replace(/\s+/g, ' ')}[${mistake.token}]`;

export interface RevisePrompt {
  messages: ChatMessage[];
  promptVersion: string;
  /** How many mistakes the prompt shows (0: the simulation was right everywhere; nothing to revise). */
  mistakesShown: number;
}

/** Builds the revision prompt of `explanation` from its simulation on calibration records. */
export function buildRevisePrompt(
  explanation: string,
  records: readonly SimulatedTokens[],
  maxActivation: number,
  template: ReviseTemplate = loadReviseTemplate(),
): RevisePrompt {
  const { over, under } = simulationMistakes(records, maxActivation, template);
  const section = (heading: string, mistakes: SimulationMistake[]) =>
    `${heading}\n${mistakes.length > 0 ? mistakes.map(mistakeLine).join('\n') : '(none)'}`;
  const user = [
    `${CURRENT_EXPLANATION_LABEL} ${EXPLANATION_PREFIX} ${explanation}.`,
    section(OVER_PREDICTED_HEADING, over),
    section(UNDER_PREDICTED_HEADING, under),
    `Revised explanation: ${EXPLANATION_PREFIX}`,
  ].join('\n\n');
  return {
    messages: [
      { role: 'system', content: template.system },
      { role: 'user', content: user },
    ],
    promptVersion: template.version,
    mistakesShown: over.length + under.length,
  };
}
