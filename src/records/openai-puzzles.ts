/**
 * @module records/openai-puzzles — reads OpenAI's explanation puzzles (openai/automated-interpretability,
 * `neuron-explainer/neuron_explainer/explanations/puzzles.json`): an object keyed by puzzle name whose values hold
 * `name`, the true `explanation`, `false_explanations` and `sentences`. A sentence is a token list whose items are a
 * string (activation 0) or `[token, activation]`, read as the reference's `puzzles.py` does. Each puzzle becomes a
 * FeatureRecord (model `openai-puzzles`, index = the puzzle's place in the file): sentences where something fires are
 * its `top` records, the others its `random` records. The file is not shipped (its repository has no licence); the
 * user gives its path.
 */
import { z } from 'zod';
import { RecordFormatError } from './errors.ts';
import type { ActivationRecord, FeatureRecord } from './types.ts';
import { readUtf8RecordFile } from './utf8.ts';
import { describeZodError } from './validate.ts';

/** The model name of puzzle features (they belong to no real model). */
export const PUZZLES_MODEL = 'openai-puzzles';

export interface OpenAiPuzzle {
  name: string;
  /** The true explanation. */
  explanation: string;
  falseExplanations: string[];
  feature: FeatureRecord;
}

const TokenShape = z.union([
  z.string(),
  z.tuple([z.string(), z.number().refine(Number.isFinite, 'activation must be a finite number')]),
]);

const PuzzleShape = z
  .object({
    name: z.string().min(1),
    explanation: z.string().min(1),
    sentences: z.array(z.array(TokenShape).min(1, 'sentence has no tokens')).min(1, 'puzzle has no sentences'),
    false_explanations: z.array(z.string().min(1)).min(1, 'puzzle has no false explanations'),
  })
  .loose();

const PuzzlesShape = z.record(z.string(), PuzzleShape);

function sentenceRecord(sentence: readonly z.infer<typeof TokenShape>[]): ActivationRecord {
  return {
    tokens: sentence.map((item) => (typeof item === 'string' ? item : item[0])),
    activations: sentence.map((item) => (typeof item === 'string' ? 0 : item[1])),
  };
}

function puzzleFeature(puzzle: z.infer<typeof PuzzleShape>, index: number): FeatureRecord {
  const records = puzzle.sentences.map(sentenceRecord);
  const fires = (record: ActivationRecord) => record.activations.some((value) => value > 0);
  const maxActivation = Math.max(0, ...records.flatMap((record) => record.activations));
  return {
    id: { model: PUZZLES_MODEL, layer: 0, kind: 'neuron', index },
    top: records.filter(fires),
    random: records.filter((record) => !fires(record)),
    stats: { mean: null, variance: null, skewness: null, kurtosis: null, maxActivation, density: null },
  };
}

/** Parses the puzzles of one file's text; errors name the file and the puzzle field that is wrong. */
export function parseOpenAiPuzzles(text: string, file: string): OpenAiPuzzle[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RecordFormatError(file, null, 'not valid JSON', { cause: error });
  }
  const parsed = PuzzlesShape.safeParse(value);
  if (!parsed.success) {
    const { location, reason } = describeZodError(parsed.error);
    throw new RecordFormatError(file, location || null, `not an OpenAI puzzles file: ${reason}`);
  }
  const puzzles = Object.values(parsed.data);
  if (puzzles.length === 0) throw new RecordFormatError(file, null, 'not an OpenAI puzzles file: no puzzles');
  return puzzles.map((puzzle, index) => ({
    name: puzzle.name,
    explanation: puzzle.explanation,
    falseExplanations: puzzle.false_explanations,
    feature: puzzleFeature(puzzle, index),
  }));
}

/** Reads OpenAI's `puzzles.json` (or a file of the same format). */
export async function readOpenAiPuzzles(file: string): Promise<OpenAiPuzzle[]> {
  return parseOpenAiPuzzles(await readUtf8RecordFile(file), file);
}
