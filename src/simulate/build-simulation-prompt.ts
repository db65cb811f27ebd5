/**
 * @module simulate/build-simulation-prompt — the reference's all-at-once simulation prompt (DESIGN §4), extended
 * to hold every record of a feature in one prompt, so one call simulates all of them.
 *
 * prompt-logprobs: a flat string whose last block lists the target tokens as `token<TAB>unknown`; we return the
 * character offset of every target "unknown", where the parser reads the echoed logprobs.
 * chat-logprobs: chat messages; few-shot turns show masked records (user) and their filled-in values (assistant),
 * and the model answers the target records the same way.
 */
import { EXPLANATION_PREFIX } from '../explain/build-explain-prompt.ts';
import { PromptBuilder } from '../llm/prompt-builder.ts';
import { loadSimulateTemplate, type SimulateTemplate } from '../llm/prompt-template.ts';
import type { ChatMessage } from '../llm/types.ts';
import { displayToken, formatActivationRecords, UNKNOWN_ACTIVATION } from '../records/format-records.ts';
import { maxActivation } from '../records/normalize.ts';
import type { SimulationMode } from './types.ts';

/** Appended to the system text in chat mode, where the model must write the values itself. */
export const CHAT_ANSWER_INSTRUCTION =
  '\nReply with the records of the last neuron only: the same <start> and <end> lines and one token<tab>activation line per token, in order, with an integer from 0 to 10 in place of each "unknown".\n';

export interface SimulationPromptOptions {
  /** Default: prompts/simulate.v1.json. */
  template?: SimulateTemplate;
  /** Default "prompt-logprobs". */
  mode?: Exclude<SimulationMode, 'sampled'>;
}

export interface SimulationPrompt {
  mode: Exclude<SimulationMode, 'sampled'>;
  /** Chat messages (chat-logprobs) — also filled for prompt-logprobs, for display and accounting. */
  messages: ChatMessage[];
  /** The flat prompt (prompt-logprobs): the concatenation of the messages. */
  prompt: string;
  /** prompt-logprobs: per target record, per token, the character offset of its "unknown" in `prompt`. */
  unknownOffsets: number[][];
  promptVersion: string;
}

const neuronHeader = (index: number, explanation: string) =>
  `\n\nNeuron ${index}\nExplanation of neuron ${index} behavior: ${EXPLANATION_PREFIX} ${explanation}`;

/** `\n<start>\ntok<TAB>unknown…\n<end>\n` for all records, with the offset of each "unknown" from the block start. */
function maskedRecordsBlock(recordsTokens: readonly (readonly string[])[]): { text: string; offsets: number[][] } {
  let text = '\n<start>\n';
  const offsets: number[][] = [];
  recordsTokens.forEach((tokens, recordIndex) => {
    if (recordIndex > 0) text += '\n<end>\n<start>\n';
    const recordOffsets: number[] = [];
    tokens.forEach((token, position) => {
      if (position > 0) text += '\n';
      text += `${displayToken(token)}\t`;
      recordOffsets.push(text.length);
      text += UNKNOWN_ACTIVATION;
    });
    offsets.push(recordOffsets);
  });
  text += '\n<end>\n';
  return { text, offsets };
}

/** Builds the simulation prompt for one explanation and the tokens of every record to simulate. */
export function buildSimulationPrompt(
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  options: SimulationPromptOptions = {},
): SimulationPrompt {
  if (recordsTokens.length === 0 || recordsTokens.some((tokens) => tokens.length === 0)) {
    throw new Error('buildSimulationPrompt: every record to simulate needs at least one token');
  }
  const template = options.template ?? loadSimulateTemplate();
  const mode = options.mode ?? 'prompt-logprobs';
  const examples = template.examples;
  const target = maskedRecordsBlock(recordsTokens);
  const builder = new PromptBuilder();

  if (mode === 'prompt-logprobs') {
    builder.add('system', template.system);
    examples.forEach((example, i) => {
      builder.add('user', neuronHeader(i + 1, example.explanation));
      const formatted = formatActivationRecords(example.records, maxActivation(example.records), {
        firstRevealedIndices: example.firstRevealedIndices,
      });
      builder.add('assistant', `\nActivations: ${formatted}\n`);
    });
    builder.add('user', neuronHeader(examples.length + 1, explanation.trim()));
    const before = builder.toFlatString().length + '\nActivations: '.length;
    builder.add('assistant', `\nActivations: ${target.text}`);
    return {
      mode,
      messages: builder.toMessages(),
      prompt: builder.toFlatString(),
      unknownOffsets: target.offsets.map((offsets) => offsets.map((offset) => offset + before)),
      promptVersion: template.version,
    };
  }

  builder.add('system', template.system + CHAT_ANSWER_INSTRUCTION);
  examples.forEach((example, i) => {
    const scale = maxActivation(example.records);
    builder.add('user', `${neuronHeader(i + 1, example.explanation)}\nActivations: ${formatActivationRecords(example.records, scale, { hideActivations: true })}`);
    builder.add('assistant', formatActivationRecords(example.records, scale).slice(1));
  });
  builder.add('user', `${neuronHeader(examples.length + 1, explanation.trim())}\nActivations: ${target.text}`);
  return {
    mode,
    messages: builder.toMessages(),
    prompt: builder.toFlatString(),
    unknownOffsets: [],
    promptVersion: `${template.version}+chat`,
  };
}
