/**
 * @module explain/build-explain-prompt — the reference's token-activation-pair explain prompt (docs/DESIGN.md §4):
 * system text, few-shot neurons with their explanations, then the target neuron's records, normalized to 0–10,
 * repeated with zeros filtered out when fewer than 20 % of the shown values are non-zero. The user turn ends with
 * "the main thing this neuron does is find", which the explainer completes.
 */
import { PromptBuilder } from '../llm/prompt-builder.ts';
import { loadExplainTemplate, type ExplainTemplate } from './explain-template.ts';
import type { ChatMessage } from '../llm/types.ts';
import { maxActivation as computeMaxActivation, nonZeroProportion } from '../records/normalize.ts';
import type { ActivationRecord } from '../records/types.ts';
import { formatActivationRecords } from '../records/format-records.ts';

export const EXPLANATION_PREFIX = 'the main thing this neuron does is find';
/** Below this fraction of non-zero normalized values the records are repeated without zeros (reference: 0.2). */
export const SPARSE_REPEAT_THRESHOLD = 0.2;

export interface ExplainPromptOptions {
  /** Prompt template (system text + few-shot examples). Default: prompts/explain.v1.json. */
  template?: ExplainTemplate;
  /** Scale for normalization. Default: max over the records shown (docs/DESIGN.md §4). */
  maxActivation?: number;
  /** Repeat the records with zeros filtered out when they are sparse. Default true. */
  repeatNonZero?: boolean;
  /** Prompt token budget; over it, few-shot examples are dropped from the last, then target records. */
  maxPromptTokens?: number;
  /** Token counter for the budget (e.g. from llm/token-counter). Required with maxPromptTokens. */
  countTokens?: (text: string) => number;
}

export interface ExplainPrompt {
  messages: ChatMessage[];
  promptVersion: string;
  /** How many of the target records fit in the prompt. */
  recordsShown: number;
  fewShotShown: number;
  /** Counted prompt tokens; null when not counted (no counter, or the byte bound already proved it fits). */
  promptTokens: number | null;
}

function neuronBlock(
  records: readonly ActivationRecord[],
  index: number,
  maxActivation: number,
  repeat: boolean,
): string {
  let text = `\n\nNeuron ${index}\nActivations:${formatActivationRecords(records, maxActivation)}`;
  if (repeat && nonZeroProportion(records, maxActivation) < SPARSE_REPEAT_THRESHOLD) {
    text += `\nSame activations, but with all zeros filtered out:${formatActivationRecords(records, maxActivation, { omitZeros: true })}`;
  }
  return `${text}\nExplanation of neuron ${index} behavior: ${EXPLANATION_PREFIX}`;
}

/** The few-shot neurons' user turns, formatted once per template (templates are read-only data). */
const fewShotBlockCache = new WeakMap<ExplainTemplate, Map<boolean, string[]>>();

function fewShotBlocks(template: ExplainTemplate, repeat: boolean): string[] {
  let byRepeat = fewShotBlockCache.get(template);
  if (!byRepeat) fewShotBlockCache.set(template, (byRepeat = new Map()));
  let blocks = byRepeat.get(repeat);
  if (!blocks) {
    blocks = template.examples.map((example, i) =>
      neuronBlock(example.records, i + 1, computeMaxActivation(example.records), repeat),
    );
    byRepeat.set(repeat, blocks);
  }
  return blocks;
}

function assemble(
  template: ExplainTemplate,
  fewShotCount: number,
  records: readonly ActivationRecord[],
  maxActivation: number,
  repeat: boolean,
): ChatMessage[] {
  const builder = new PromptBuilder().add('system', template.system);
  const blocks = fewShotBlocks(template, repeat);
  template.examples.slice(0, fewShotCount).forEach((example, i) => {
    builder.add('user', blocks[i]!);
    builder.add('assistant', ` ${example.explanation}.`);
  });
  builder.add('user', neuronBlock(records, fewShotCount + 1, maxActivation, repeat));
  return builder.toMessages();
}

const messagesTokenCount = (messages: ChatMessage[], count: (text: string) => number) =>
  // Chat framing costs about 4 tokens a message plus 2 to prime the reply (as the reference estimates).
  messages.reduce((sum, message) => sum + 4 + count(message.content), 2);

/** An upper bound of the token count for byte-level BPE tokenizers: UTF-8 bytes plus the chat framing. */
const messagesByteBound = (messages: ChatMessage[]) =>
  messages.reduce((sum, message) => sum + 4 + Buffer.byteLength(message.content, 'utf8'), 2);

/** Builds the explain prompt for one feature's explain-set records. */
export function buildExplainPrompt(
  records: readonly ActivationRecord[],
  options: ExplainPromptOptions = {},
): ExplainPrompt {
  if (records.length === 0) throw new Error('buildExplainPrompt: no records to explain');
  const template = options.template ?? loadExplainTemplate();
  const repeat = options.repeatNonZero ?? true;
  let fewShot = template.examples.length;
  let shown = records.length;
  const scale = () => options.maxActivation ?? computeMaxActivation(records.slice(0, shown));
  let messages = assemble(template, fewShot, records.slice(0, shown), scale(), repeat);
  let promptTokens: number | null = null;
  if (options.maxPromptTokens !== undefined && messagesByteBound(messages) <= options.maxPromptTokens) {
    // A byte-level BPE never makes more tokens than UTF-8 bytes: well under budget, no need to count exactly.
  } else if (options.maxPromptTokens !== undefined) {
    if (!options.countTokens) throw new Error('buildExplainPrompt: maxPromptTokens needs a countTokens function');
    promptTokens = messagesTokenCount(messages, options.countTokens);
    while (promptTokens > options.maxPromptTokens && (fewShot > 0 || shown > 1)) {
      if (fewShot > 0) fewShot -= 1;
      else shown -= 1;
      messages = assemble(template, fewShot, records.slice(0, shown), scale(), repeat);
      promptTokens = messagesTokenCount(messages, options.countTokens);
    }
    if (promptTokens > options.maxPromptTokens) {
      throw new Error(
        `explain prompt needs ${promptTokens} tokens even with one record; budget is ${options.maxPromptTokens}`,
      );
    }
  } else if (options.countTokens) {
    promptTokens = messagesTokenCount(messages, options.countTokens);
  }
  return { messages, promptVersion: template.version, recordsShown: shown, fewShotShown: fewShot, promptTokens };
}
