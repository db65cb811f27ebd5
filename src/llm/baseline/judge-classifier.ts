/**
 * @module llm/baseline/judge-classifier — the rule-based judge of detection and fuzzing prompts (a prompt whose last
 * turn is `Explanation: …`, a blank line, then `Example 0: …`, `Example 1: …` lines). Like the baseline simulator it
 * reads only the explanation (interpret-explanation.ts: quoted tokens, lexicon concepts, "after X") and the example
 * texts, never activations. Each example text is split into word tokens; an example without `<<` `>>` marks is a
 * detection question (fit = the highest predicted activation of its tokens, 0–1), one with marks a fuzzing question
 * (fit = the mean predicted activation of its marked tokens). It answers `[1, 0, …]`, 1 where fit ≥ 0.5, and its
 * probability of "1" is 0.02 + 0.96 × fit (top logprobs of the answer tokens, for logprob requests).
 */
import type { TokenLogprob } from '../types.ts';
import type { ConceptLexicon } from './concept-lexicon.ts';
import { fillerLogprob, fillerTopLogprobs } from './filler-logprobs.ts';
import { interpretExplanation, type TokenPredictor } from './interpret-explanation.ts';
import { pieceCovering, pieceOffsets } from './token-offsets.ts';

/** One answer digit of the judge's list: where it is in the answer text and the probability of "1" there. */
export interface ClassifierAnswerDigit {
  offset: number;
  probability: number;
}

export interface ClassifierPromptAnswer {
  text: string;
  digits: ClassifierAnswerDigit[];
}

interface ExampleQuestion {
  tokens: string[];
  /** Indices of the marked tokens; empty for a detection question. */
  marked: number[];
}

const wordToken = /\s*(?:[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|\S)/gu;
const exampleLine = /^Example (\d+): (.*)$/;

/** Splits an example text into word tokens (leading space kept), noting the tokens inside `<<` `>>`. */
function readExample(text: string): ExampleQuestion {
  let plain = '';
  const markedRanges: [number, number][] = [];
  let rest = text;
  for (;;) {
    const open = rest.indexOf('<<');
    const close = open === -1 ? -1 : rest.indexOf('>>', open + 2);
    if (open === -1 || close === -1) break;
    plain += rest.slice(0, open);
    const start = plain.length;
    plain += rest.slice(open + 2, close);
    markedRanges.push([start, plain.length]);
    rest = rest.slice(close + 2);
  }
  plain += rest;
  const tokens: string[] = [];
  const marked: number[] = [];
  for (const match of plain.matchAll(wordToken)) {
    const firstVisible = match.index + (match[0].length - match[0].trimStart().length);
    if (markedRanges.some(([start, end]) => firstVisible >= start && firstVisible < end)) marked.push(tokens.length);
    tokens.push(match[0]);
  }
  return { tokens, marked };
}

/** The explanation and the examples of a detection or fuzzing prompt's last turn, or undefined for other prompts. */
export function readClassifierPrompt(text: string): { explanation: string; examples: ExampleQuestion[] } | undefined {
  const last = text.lastIndexOf('\nExplanation: ');
  const start = last !== -1 ? last + 1 : text.startsWith('Explanation: ') ? 0 : -1;
  if (start === -1) return undefined;
  const lines = text.slice(start).replace(/\n+$/, '').split('\n');
  if (lines.length < 3 || lines[1] !== '') return undefined;
  const examples: ExampleQuestion[] = [];
  for (const [index, line] of lines.slice(2).entries()) {
    const match = exampleLine.exec(line);
    if (!match || Number(match[1]) !== index) return undefined;
    examples.push(readExample(match[2] ?? ''));
  }
  return { explanation: (lines[0] ?? '').slice('Explanation: '.length), examples };
}

/** How well an example fits the explanation, 0–1 (see the module comment). */
function fitOf(question: ExampleQuestion, predict: TokenPredictor): number {
  const predictions = question.tokens.map((_, index) => predict(question.tokens, index) / 10);
  if (question.marked.length === 0) return Math.max(0, ...predictions);
  return question.marked.reduce((sum, index) => sum + (predictions[index] ?? 0), 0) / question.marked.length;
}

/** The judge's answer to a detection or fuzzing prompt, or undefined when `text` is not one. */
export function answerClassifierPrompt(text: string, lexicon: ConceptLexicon): ClassifierPromptAnswer | undefined {
  const prompt = readClassifierPrompt(text);
  if (!prompt) return undefined;
  const { predict } = interpretExplanation(prompt.explanation, { lexicon });
  const fits = prompt.examples.map((question) => Math.min(1, Math.max(0, fitOf(question, predict))));
  const digits = fits.map((fit, index) => ({ offset: 1 + 3 * index, probability: 0.02 + 0.96 * fit }));
  return { text: `[${fits.map((fit) => (fit >= 0.5 ? 1 : 0)).join(', ')}]`, digits };
}

/** Token logprobs of the answer pieces: "1" and "0" alternatives at each digit, a filler logprob elsewhere. */
export function classifierAnswerLogprobs(
  pieces: readonly string[],
  digits: readonly ClassifierAnswerDigit[],
  topK: number,
  baseOffset = 0,
): TokenLogprob[] {
  const offsets = pieceOffsets(pieces);
  const digitAtPiece = new Map<number, ClassifierAnswerDigit>();
  for (const digit of digits) {
    const index = pieceCovering(pieces, offsets, digit.offset);
    if (index >= 0) digitAtPiece.set(index, digit);
  }
  return pieces.map((piece, index) => {
    const start = offsets[index] ?? 0;
    const textOffset = baseOffset + start;
    const digit = digitAtPiece.get(index);
    if (!digit)
      return { token: piece, logprob: fillerLogprob(piece), topLogprobs: fillerTopLogprobs(piece, topK), textOffset };
    const at = digit.offset - start;
    const spelled = (value: string) => piece.slice(0, at) + value + piece.slice(at + 1);
    const alternatives: [string, number][] = [
      [spelled('1'), Math.log(digit.probability)],
      [spelled('0'), Math.log(1 - digit.probability)],
    ];
    alternatives.sort((a, b) => b[1] - a[1]);
    const own = alternatives.find(([alternative]) => alternative === piece);
    return {
      token: piece,
      logprob: own?.[1] ?? Math.log(Math.min(digit.probability, 1 - digit.probability)),
      topLogprobs: Object.fromEntries(alternatives.slice(0, Math.max(0, topK))),
      textOffset,
    };
  });
}
