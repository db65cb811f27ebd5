/**
 * @module llm/baseline/rule-based-model — the offline, deterministic "model" behind the baseline provider and the
 * fake server. It reads only the request's text: when the last neuron block has `token<TAB>unknown` lines it is a
 * simulation (answered with value distributions read from the explanation), otherwise an explain request (answered
 * by naming the tokens with the highest mean shown activation; a sampled one, a seeded subset of them; a revision
 * prompt by mending the current explanation's token list from the mistakes shown); an intervention judge prompt gets a 0/1 list
 * (judge-intervention.ts), and so does a detection or fuzzing judge prompt (judge-classifier.ts, with logprobs of
 * its answer digits). Prompt requests (Completions) can echo the prompt with logprobs; message requests (chat) get
 * completion logprobs. Stop sequences and `maxTokens` are honoured.
 */
import type { ConceptLexicon } from './concept-lexicon.ts';
import { loadConceptLexicon } from './concept-lexicon.ts';
import type { EncodingName } from '../token-counter.ts';
import { countTokens, splitTokens } from '../token-counter.ts';
import type { LlmRequest, LlmResult, TokenLogprob } from '../types.ts';
import { flattenConversation } from './conversation-text.ts';
import { explainFromPrompt } from './explain-from-prompt.ts';
import { answerClassifierPrompt, classifierAnswerLogprobs } from './judge-classifier.ts';
import { answerInterventionPrompt, isInterventionPrompt } from './judge-intervention.ts';
import { isRevisePrompt, reviseFromPrompt } from './revise-from-prompt.ts';
import { isSimulationPrompt, rewriteTargetRecords, simulateEcho } from './simulate-from-prompt.ts';
import type { ValuePosition } from './token-logprobs.ts';
import { buildTokenLogprobs } from './token-logprobs.ts';
import type { ValueDistributionOptions } from './value-distribution.ts';

/** The name the rule-based model answers with. */
export const ruleBasedModelName = 'rule-based-v1';

export interface RuleBasedModelOptions {
  /** Word-class knowledge for reading explanations. Default: the bundled lexicon, loaded on the first request. */
  lexicon?: ConceptLexicon;
  /** Tokenizer for pieces and usage. Default o200k_base. */
  encoding?: EncodingName;
  /** Shape of the value distributions (smoothing, non-number mass). Defaults in value-distribution.ts. */
  distribution?: ValueDistributionOptions;
  /** How many tokens an explanation names at most. Default 8. */
  maxTokensNamed?: number;
}

export type RequestKind = 'explain' | 'simulate';

/** What a request asks for, read from its text. */
export function classifyRequest(request: LlmRequest): { kind: RequestKind; endpoint: 'completions' | 'chat' } {
  const endpoint = request.prompt !== undefined ? 'completions' : 'chat';
  return { kind: isSimulationPrompt(requestText(request)) ? 'simulate' : 'explain', endpoint };
}

/** The request's text: the prompt, or the messages flattened. */
function requestText(request: LlmRequest): string {
  if ((request.prompt === undefined) === (request.messages === undefined)) {
    throw new TypeError('request must set exactly one of `prompt` and `messages`');
  }
  return request.prompt ?? flattenConversation(request.messages ?? []);
}

/** Cuts `text` before the earliest stop sequence; values after the cut are dropped. */
function applyStop(draft: { text: string; values: ValuePosition[] }, stop: readonly string[] | undefined) {
  let cut = -1;
  for (const sequence of stop ?? []) {
    if (sequence.length === 0) continue;
    const index = draft.text.indexOf(sequence);
    if (index !== -1 && (cut === -1 || index < cut)) cut = index;
  }
  if (cut === -1) return { ...draft, stopped: false };
  return { text: draft.text.slice(0, cut), values: draft.values.filter((value) => value.offset < cut), stopped: true };
}

/** Prompt tokens as the chat endpoints count them: contents plus 3 per message plus 3 to prime the answer. */
async function countPromptTokens(request: LlmRequest, encoding: EncodingName | undefined): Promise<number> {
  if (request.prompt !== undefined) return countTokens(request.prompt, encoding);
  let total = 3;
  for (const message of request.messages ?? []) total += 3 + (await countTokens(message.content, encoding));
  return total;
}

/** Answers one request as an LLM would, deterministically and offline. */
export async function respondToRequest(request: LlmRequest, options: RuleBasedModelOptions = {}): Promise<LlmResult> {
  request.signal?.throwIfAborted();
  const lexicon = options.lexicon ?? loadConceptLexicon();
  const text = requestText(request);
  const kind: RequestKind = isSimulationPrompt(text) ? 'simulate' : 'explain';
  const classifierAnswer = answerClassifierPrompt(text, lexicon);
  const draft = classifierAnswer
    ? { text: classifierAnswer.text, values: [] }
    : isInterventionPrompt(text)
      ? { text: answerInterventionPrompt(text, lexicon), values: [] }
      : kind === 'simulate'
        ? rewriteTargetRecords(text, lexicon)
        : isRevisePrompt(text)
          ? { text: reviseFromPrompt(text, options.maxTokensNamed), values: [] }
          : {
              text: explainFromPrompt(text, {
                lexicon,
                ...(options.maxTokensNamed !== undefined ? { maxTokensNamed: options.maxTokensNamed } : {}),
                // A sampled request (temperature > 0) names a seeded subset of the tokens: n samples, n candidates.
                ...((request.temperature ?? 0) > 0 && request.sampleIndex ? { sampleIndex: request.sampleIndex } : {}),
              }),
              values: [],
            };
  const stopped = applyStop(draft, request.stop);
  let pieces = await splitTokens(stopped.text, options.encoding);
  const maxTokens = Math.max(0, Math.floor(request.maxTokens));
  const truncated = pieces.length > maxTokens;
  if (truncated) pieces = pieces.slice(0, maxTokens);
  const completion = pieces.join('');
  const finishReason = truncated || (maxTokens === 0 && !stopped.stopped) ? 'length' : 'stop';

  let tokens: TokenLogprob[] | undefined;
  if (request.logprobs) {
    const topK = request.logprobs.topK;
    const echo = request.prompt !== undefined && request.logprobs.echo === true;
    const baseOffset = echo ? (request.prompt ?? '').length : 0;
    const completionTokens = classifierAnswer
      ? classifierAnswerLogprobs(pieces, classifierAnswer.digits, topK, baseOffset)
      : buildTokenLogprobs(pieces, stopped.values, { topK, baseOffset, distribution: options.distribution });
    tokens = echo
      ? [
          ...(await simulateEcho(request.prompt ?? '', {
            lexicon,
            topK,
            encoding: options.encoding,
            distribution: options.distribution,
          })),
          ...completionTokens,
        ]
      : completionTokens;
  }

  const warnings: string[] = [];
  if ((request.temperature ?? 0) > 0 && !(kind === 'explain' && request.sampleIndex)) {
    warnings.push(`temperature ${request.temperature} ignored: the rule-based model is deterministic`);
  }
  if (request.logprobs?.echo && request.prompt === undefined) {
    warnings.push('echo ignored: it applies to prompt requests only');
  }
  return {
    text: completion,
    ...(tokens ? { tokens } : {}),
    usage: { promptTokens: await countPromptTokens(request, options.encoding), completionTokens: pieces.length },
    model: ruleBasedModelName,
    finishReason,
    cached: false,
    warnings,
  };
}
