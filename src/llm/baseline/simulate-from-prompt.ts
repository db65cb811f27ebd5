/**
 * @module llm/baseline/simulate-from-prompt — the rule-based simulator. It reads the explanation of each neuron
 * block from the prompt text and predicts every `token<TAB>unknown` value from that explanation alone (never from
 * true activations). Two answer shapes:
 *   (a) echo: the whole prompt as real BPE pieces with value distributions at every `unknown` (Completions with
 *       `echo: true, logprobs: k, max_tokens: 0`);
 *   (b) rewrite: a completion that rewrites the target records (the last block's) as `token<TAB>value` lines, with
 *       the value positions to put distributions on (chat with `logprobs: true, top_logprobs: k`).
 */
import type { ConceptLexicon } from './concept-lexicon.ts';
import type { EncodingName } from '../token-counter.ts';
import { splitTokens } from '../token-counter.ts';
import type { TokenLogprob } from '../types.ts';
import { interpretExplanation } from './interpret-explanation.ts';
import type { NeuronBlock } from './prompt-structure.ts';
import { isUnknownValue, parseNeuronBlocks } from './prompt-structure.ts';
import type { ValuePosition } from './token-logprobs.ts';
import { buildTokenLogprobs } from './token-logprobs.ts';
import type { ValueDistributionOptions } from './value-distribution.ts';

export interface SimulateOptions {
  /** Word-class knowledge for reading explanations. */
  lexicon: ConceptLexicon;
  /** Alternatives per position. Default 5. */
  topK?: number;
  /** Tokenizer for the pieces. Default o200k_base. */
  encoding?: EncodingName;
  distribution?: ValueDistributionOptions;
}

/** A value line's prediction: `offset` of its value in the text, the line's token, the predicted 0–10 value. */
export interface ValuePrediction extends ValuePosition {
  token: string;
  neuronNumber: number | null;
}

/** The rewrite of the target records and where its values are (offsets in `text`). */
export interface RecordRewrite {
  text: string;
  values: ValuePosition[];
}

/** True when the last neuron block of the text asks for values (`token<TAB>unknown` lines). */
export function isSimulationPrompt(text: string): boolean {
  const last = parseNeuronBlocks(text).at(-1);
  return (last?.records ?? []).some((record) => record.lines.some((line) => isUnknownValue(line.value)));
}

/** Predictions for a block's lines: unknown ones from the explanation, known ones as written (clamped to 0–10). */
function predictBlock(block: NeuronBlock, lexicon: ConceptLexicon): Array<Array<number | null>> {
  const interpretation = interpretExplanation(block.explanation ?? '', { lexicon });
  return block.records.map((record) => {
    const tokens = record.lines.map((line) => line.token);
    return record.lines.map((line, index) => {
      if (isUnknownValue(line.value)) return interpretation.predict(tokens, index);
      const known = Number(line.value);
      return Number.isFinite(known) ? Math.min(10, Math.max(0, known)) : null;
    });
  });
}

/** Every `unknown` value of every block, with its prediction from its block's explanation. */
export function predictUnknownValues(text: string, lexicon: ConceptLexicon): ValuePrediction[] {
  const predictions: ValuePrediction[] = [];
  for (const block of parseNeuronBlocks(text)) {
    if (!block.records.some((record) => record.lines.some((line) => isUnknownValue(line.value)))) continue;
    const blockPredictions = predictBlock(block, lexicon);
    block.records.forEach((record, recordIndex) => {
      record.lines.forEach((line, lineIndex) => {
        if (!isUnknownValue(line.value)) return;
        predictions.push({
          offset: line.valueOffset,
          prediction: blockPredictions[recordIndex]?.[lineIndex] ?? 0,
          token: line.token,
          neuronNumber: block.neuronNumber,
        });
      });
    });
  }
  return predictions;
}

/** (a) The echoed prompt's token logprobs: first token null, a value distribution at every `unknown`. */
export async function simulateEcho(prompt: string, options: SimulateOptions): Promise<TokenLogprob[]> {
  const pieces = await splitTokens(prompt, options.encoding);
  return buildTokenLogprobs(pieces, predictUnknownValues(prompt, options.lexicon), {
    topK: options.topK ?? 5,
    firstHasNoLogprob: true,
    distribution: options.distribution,
  });
}

/**
 * (b) Rewrites the last block's records that hold `unknown` values: `<start>`, one `token<TAB>value` line per token
 * (value = round(prediction); known values copied), `<end>`; records separated by a newline.
 */
export function rewriteTargetRecords(text: string, lexicon: ConceptLexicon): RecordRewrite {
  const last = parseNeuronBlocks(text).at(-1);
  if (!last) return { text: '', values: [] };
  const blockPredictions = predictBlock(last, lexicon);
  const values: ValuePosition[] = [];
  let rewrite = '';
  last.records.forEach((record, recordIndex) => {
    if (!record.lines.some((line) => isUnknownValue(line.value))) return;
    rewrite += `${rewrite.length > 0 ? '\n' : ''}<start>\n`;
    record.lines.forEach((line, lineIndex) => {
      const prediction = blockPredictions[recordIndex]?.[lineIndex] ?? 0;
      rewrite += `${line.token}\t`;
      values.push({ offset: rewrite.length, prediction });
      rewrite += `${Math.round(prediction)}\n`;
    });
    rewrite += '<end>';
  });
  return { text: rewrite, values };
}

/** (b) The rewrite with its completion tokens (value distributions at each value token). */
export async function simulateChat(
  text: string,
  options: SimulateOptions,
): Promise<{ text: string; tokens: TokenLogprob[] }> {
  const rewrite = rewriteTargetRecords(text, options.lexicon);
  const pieces = await splitTokens(rewrite.text, options.encoding);
  return {
    text: rewrite.text,
    tokens: buildTokenLogprobs(pieces, rewrite.values, { topK: options.topK ?? 5, distribution: options.distribution }),
  };
}
