/**
 * @module simulate/plan-simulation-calls — which of a feature's records go into which simulation call: at most
 * `recordsPerCall` records a call (`all`: no such limit), and no call larger than the simulator's context allows
 * (the prompt, plus room for the answer where the model writes one). Records keep their order; a call takes the
 * next records while they fit.
 */
import type { SimulateTemplate } from './simulate-template.ts';
import { buildSimulationPrompt, maskedRecordsText } from './build-simulation-prompt.ts';
import type { SimulationMode } from './types.ts';
import { InputError } from '../common/errors.ts';

/** Records of a feature simulated in one call: a number (1 = the reference's one record a prompt) or all of them. */
export type RecordsPerCall = number | 'all';

/** The simulator's context, as a budget for each call. */
export interface SimulationBudget {
  /** Context window of the simulator in tokens (prompt and completion together). */
  contextTokens: number;
  /** Counts tokens of a text (the run's tokenizer, llm/token-counter). */
  countTokens(text: string): number;
}

/**
 * Share of the context a call is planned to fill. The rest is headroom: prompts are counted with our tokenizer
 * (o200k_base), and a server's tokenizer may count more tokens for the same text.
 */
export const CONTEXT_FILL = 0.9;

/** Tokens kept for the answer's framing beyond the rewritten records (chat and sampled modes). */
const ANSWER_SLACK_TOKENS = 32;

/** Tokens a chat message costs beyond its content (role and separators). */
const MESSAGE_FRAMING_TOKENS = 4;

/** A record too long for the simulator's context even alone: no split helps (a shorter window or a larger context does). */
export class SimulationBudgetError extends InputError {
  override readonly name = 'SimulationBudgetError';
}

/** What one call costs in tokens: a fixed part (instructions, few-shot, explanation) and a part per record. */
export interface CallCosts {
  /** Prompt tokens without the target records. */
  fixedTokens: number;
  /** Prompt tokens of each target record's block. */
  recordPromptTokens: number[];
  /** Tokens a call may use in all: `CONTEXT_FILL` of the context. */
  limit: number;
  /** Whether the model writes the records back (chat-logprobs, sampled): each record then costs its tokens twice. */
  answers: boolean;
}

/** Measures the costs of simulating these records in `mode` with this explanation and template. */
export function measureCallCosts(
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  mode: SimulationMode,
  budget: SimulationBudget,
  template?: SimulateTemplate,
): CallCosts {
  const promptMode = mode === 'sampled' ? 'chat-logprobs' : mode;
  const recordPromptTokens = recordsTokens.map((tokens) => budget.countTokens(maskedRecordsText([tokens])));
  const sample = buildSimulationPrompt(explanation, [recordsTokens[0]!], {
    mode: promptMode,
    ...(template ? { template } : {}),
  });
  const framing = promptMode === 'chat-logprobs' ? sample.messages.length * MESSAGE_FRAMING_TOKENS : 0;
  return {
    fixedTokens: Math.max(0, budget.countTokens(sample.prompt) + framing - recordPromptTokens[0]!),
    recordPromptTokens,
    limit: Math.floor(budget.contextTokens * CONTEXT_FILL),
    answers: promptMode === 'chat-logprobs',
  };
}

/** Characters of a template's prompt without explanation and target records, per mode (templates are read-only). */
const fixedCharactersCache = new WeakMap<SimulateTemplate, Map<SimulationMode, number>>();

function fixedCharacters(template: SimulateTemplate, mode: SimulationMode): number {
  let byMode = fixedCharactersCache.get(template);
  if (!byMode) fixedCharactersCache.set(template, (byMode = new Map()));
  let characters = byMode.get(mode);
  if (characters === undefined) {
    const promptMode = mode === 'sampled' ? 'chat-logprobs' : mode;
    const sample = buildSimulationPrompt('', [['x']], { mode: promptMode, template });
    characters = sample.prompt.length - maskedRecordsText([['x']]).length;
    byMode.set(mode, characters);
  }
  return characters;
}

/**
 * Costs bounded from above without a tokenizer or building any prompt: a token is at least one UTF-8 byte, and a
 * UTF-16 unit at most three bytes, so 3 × the characters bound the tokens (a token shown escaped doubles at most;
 * each line adds a tab, "unknown" and a newline). Where every record fits one call even by this bound (the usual
 * case), nothing needs counting.
 */
export function boundCallCosts(
  explanation: string,
  recordsTokens: readonly (readonly string[])[],
  mode: SimulationMode,
  contextTokens: number,
  template: SimulateTemplate,
): CallCosts {
  const framing = mode === 'prompt-logprobs' ? 0 : (2 * template.examples.length + 2) * MESSAGE_FRAMING_TOKENS;
  return {
    fixedTokens: 3 * (fixedCharacters(template, mode) + explanation.length) + framing,
    recordPromptTokens: recordsTokens.map(
      (tokens) => 3 * (tokens.reduce((sum, token) => sum + 2 * token.length + 9, 0) + 16),
    ),
    limit: Math.floor(contextTokens * CONTEXT_FILL),
    answers: mode !== 'prompt-logprobs',
  };
}

/** Prompt tokens of a call on these records (an estimate: block token counts add up to within a token or two). */
export function callPromptTokens(costs: CallCosts, records: readonly number[]): number {
  return records.reduce((sum, record) => sum + costs.recordPromptTokens[record]! + 2, costs.fixedTokens);
}

/** Tokens a call on these records needs in all: its prompt, and where the model answers, the records written back. */
export function callTotalTokens(costs: CallCosts, records: readonly number[]): number {
  if (!costs.answers) return callPromptTokens(costs, records);
  const answer = records.reduce((sum, record) => sum + costs.recordPromptTokens[record]! + 2, ANSWER_SLACK_TOKENS);
  return callPromptTokens(costs, records) + answer;
}

/**
 * Groups `records` (indices, in order) into calls of at most `recordsPerCall` records that each fit `costs.limit`
 * (without `costs`: by count only). Throws SimulationBudgetError for a record that does not fit alone.
 */
export function planSimulationCalls(
  records: readonly number[],
  recordsPerCall: RecordsPerCall,
  costs?: CallCosts,
): number[][] {
  const perCall = recordsPerCall === 'all' ? Infinity : recordsPerCall;
  const calls: number[][] = [];
  let current: number[] = [];
  for (const record of records) {
    if (costs && callTotalTokens(costs, [record]) > costs.limit) {
      throw new SimulationBudgetError(
        `record ${record + 1} of the feature's simulated records (${costs.recordPromptTokens[record]} prompt tokens) does not fit the simulator's context: a call needs about ${callTotalTokens(costs, [record])} tokens, ${CONTEXT_FILL * 100} % of the context is ${costs.limit} (set --context-tokens to the server's context size, or use shorter windows)`,
      );
    }
    const next = [...current, record];
    if (
      current.length > 0 &&
      (current.length >= perCall || (costs !== undefined && callTotalTokens(costs, next) > costs.limit))
    ) {
      calls.push(current);
      current = [record];
    } else current = next;
  }
  if (current.length > 0) calls.push(current);
  return calls;
}
