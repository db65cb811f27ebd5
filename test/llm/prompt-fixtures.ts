/** @module test/llm/prompt-fixtures — small explain and simulation prompts in the reference layout, for tests. */
import type { ChatMessage } from '../../src/llm/types.ts';

export interface FixtureRecord {
  tokens: string[];
  /** Prompt-scale values 0–10; null → "unknown". */
  values: Array<number | null>;
}

const find = 'the main thing this neuron does is find';

function recordLines(record: FixtureRecord): string {
  const lines = record.tokens.map((token, index) => `${token}\t${record.values[index] ?? 'unknown'}`);
  return `<start>\n${lines.join('\n')}\n<end>\n`;
}

/** Flat all-at-once simulation prompt: one few-shot neuron, then the target neuron with unknown records. */
export function simulationPrompt(explanation: string, targets: string[][]): string {
  const fewShot =
    `\n\nNeuron 1\nExplanation of neuron 1 behavior: ${find} vowels\nActivations: \n` +
    recordLines({ tokens: ['a', 'b', 'c'], values: [10, 0, 0] }) +
    recordLines({ tokens: ['d', 'e'], values: [null, 10] });
  const target =
    `\n\n\nNeuron 2\nExplanation of neuron 2 behavior: ${find} ${explanation}\nActivations: \n` +
    targets.map((tokens) => recordLines({ tokens, values: tokens.map(() => null) })).join('');
  return `We're studying neurons in a neural network. Look at an explanation and guess the activations.${fewShot}${target}`;
}

/** Chat simulation: the same content, the last user message showing the targets and asking for a rewrite. */
export function simulationMessages(explanation: string, targets: string[][]): ChatMessage[] {
  const targetBlock =
    `\n\nNeuron 2\nExplanation of neuron 2 behavior: ${find} ${explanation}\nActivations: \n` +
    targets.map((tokens) => recordLines({ tokens, values: tokens.map(() => null) })).join('');
  return [
    { role: 'system', content: 'We are studying neurons. Predict each activation as an integer from 0 to 10.' },
    {
      role: 'user',
      content: `\n\nNeuron 1\nExplanation of neuron 1 behavior: ${find} vowels\nActivations: \n${recordLines({ tokens: ['a', 'b'], values: [null, null] })}`,
    },
    { role: 'assistant', content: recordLines({ tokens: ['a', 'b'], values: [10, 0] }) },
    {
      role: 'user',
      content: `${targetBlock}\nRewrite the records above, one token<TAB>value line per token between <start> and <end>.`,
    },
  ];
}

/** Explain prompt (flat): one few-shot neuron with its answer, then the target neuron to be explained. */
export function explainPrompt(records: FixtureRecord[], options: { filteredRepeat?: boolean } = {}): string {
  const fewShot =
    `\n\nNeuron 1\nActivations:\n${recordLines({ tokens: [' rain', ' sun'], values: [10, 8] })}` +
    `\n\nExplanation of neuron 1 behavior: ${find} words about the weather.`;
  let target = `\n\nNeuron 2\nActivations:\n${records.map(recordLines).join('')}`;
  if (options.filteredRepeat) {
    const filtered = records.map((record) => {
      const kept = record.tokens
        .map((token, index) => ({ token, value: record.values[index] ?? 0 }))
        .filter((line) => line.value > 0);
      return { tokens: kept.map((line) => line.token), values: kept.map((line) => line.value) };
    });
    target += `\nSame activations, but with all zeros filtered out:\n${filtered.map(recordLines).join('')}`;
  }
  target += `\n\nExplanation of neuron 2 behavior: ${find}`;
  return `We're studying neurons in a neural network. Look at the parts of the document the neuron activates for and summarize in a single sentence what the neuron is looking for.${fewShot}${target}`;
}

/** Offsets of every "unknown" value in a text. */
export function unknownOffsets(text: string): number[] {
  return [...text.matchAll(/\tunknown/g)].map((match) => match.index + 1);
}
