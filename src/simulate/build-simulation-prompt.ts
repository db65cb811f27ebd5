/**
 * @module simulate/build-simulation-prompt — the reference's all-at-once simulation prompt (docs/DESIGN.md §4), extended
 * to hold every record of a feature in one prompt, so one call simulates all of them.
 *
 * prompt-logprobs: a flat string whose last block lists the target tokens as `token<TAB>unknown`; we return the
 * character offset of every target "unknown", where the parser reads the echoed logprobs.
 * chat-logprobs: chat messages; few-shot turns show masked records (user) and their filled-in values (assistant),
 * and the model answers the target records the same way.
 */
import { EXPLANATION_PREFIX } from '../explain/build-explain-prompt.ts';
import { PromptBuilder } from '../llm/prompt-builder.ts';
import { loadSimulateTemplate, type SimulateTemplate } from './simulate-template.ts';
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
function maskedRecordsBlock(
  recordsTokens: readonly (readonly string[])[],
  base: number,
): { text: string; offsets: number[][] } {
  // Pieces joined once (not a string grown token by token); offsets counted as the pieces are laid down.
  const parts: string[] = ['\n<start>\n'];
  let length = base + parts[0]!.length;
  const offsets = recordsTokens.map((tokens, recordIndex) => {
    if (recordIndex > 0) {
      parts.push('\n<end>\n<start>\n');
      length += '\n<end>\n<start>\n'.length;
    }
    const recordOffsets = new Array<number>(tokens.length);
    for (let position = 0; position < tokens.length; position++) {
      const line = position > 0 ? `\n${displayToken(tokens[position]!)}\t` : `${displayToken(tokens[position]!)}\t`;
      length += line.length;
      recordOffsets[position] = length;
      length += UNKNOWN_ACTIVATION.length;
      parts.push(line, UNKNOWN_ACTIVATION);
    }
    return recordOffsets;
  });
  parts.push('\n<end>\n');
  return { text: parts.join(''), offsets };
}

/** The `<start>`…`<end>` block of records as the prompt shows them to simulate (for token budgets). */
export const maskedRecordsText = (recordsTokens: readonly (readonly string[])[]): string =>
  maskedRecordsBlock(recordsTokens, 0).text;

/**
 * The few-shot turns (user, assistant, user, assistant, …) of a template in one mode, formatted once per template
 * (templates are read-only data): they are the same for every feature.
 */
const fewShotCache = new WeakMap<SimulateTemplate, Map<Exclude<SimulationMode, 'sampled'>, string[]>>();

function fewShotTurns(template: SimulateTemplate, mode: Exclude<SimulationMode, 'sampled'>): string[] {
  let byMode = fewShotCache.get(template);
  if (!byMode) fewShotCache.set(template, (byMode = new Map()));
  let turns = byMode.get(mode);
  if (!turns) {
    turns = template.examples.flatMap((example, i) => {
      const scale = maxActivation(example.records);
      if (mode === 'prompt-logprobs') {
        const formatted = formatActivationRecords(example.records, scale, {
          firstRevealedIndices: example.firstRevealedIndices,
        });
        return [neuronHeader(i + 1, example.explanation), `\nActivations: ${formatted}\n`];
      }
      return [
        `${neuronHeader(i + 1, example.explanation)}\nActivations: ${formatActivationRecords(example.records, scale, { hideActivations: true })}`,
        formatActivationRecords(example.records, scale).slice(1),
      ];
    });
    byMode.set(mode, turns);
  }
  return turns;
}

/** Adds the few-shot turns as alternating user and assistant messages. */
function addFewShot(builder: PromptBuilder, turns: readonly string[]): void {
  turns.forEach((content, i) => builder.add(i % 2 === 0 ? 'user' : 'assistant', content));
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
  const builder = new PromptBuilder();

  if (mode === 'prompt-logprobs') {
    builder.add('system', template.system);
    addFewShot(builder, fewShotTurns(template, mode));
    builder.add('user', neuronHeader(examples.length + 1, explanation.trim()));
    const target = maskedRecordsBlock(recordsTokens, builder.flatLength + '\nActivations: '.length);
    builder.add('assistant', `\nActivations: ${target.text}`);
    return {
      mode,
      messages: builder.toMessages(),
      prompt: builder.toFlatString(),
      unknownOffsets: target.offsets,
      promptVersion: template.version,
    };
  }

  const target = maskedRecordsBlock(recordsTokens, 0);
  builder.add('system', template.system + CHAT_ANSWER_INSTRUCTION);
  addFewShot(builder, fewShotTurns(template, mode));
  builder.add('user', `${neuronHeader(examples.length + 1, explanation.trim())}\nActivations: ${target.text}`);
  return {
    mode,
    messages: builder.toMessages(),
    prompt: builder.toFlatString(),
    unknownOffsets: [],
    promptVersion: `${template.version}+chat`,
  };
}
