/**
 * The OpenAI puzzles reader (records/openai-puzzles): a file of the reference's format (an object keyed by puzzle
 * name; a sentence's items are a bare token, activation 0, or `[token, activation]`) becomes one feature per puzzle
 * with its true and false explanations; a bad file is refused with the file and the field named.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PUZZLES_MODEL, parseOpenAiPuzzles, readOpenAiPuzzles } from '../../src/records/openai-puzzles.ts';
import { RecordFormatError } from '../../src/records/errors.ts';

/** Two puzzles in the reference's format (our own text, not OpenAI's). */
const fixture = fileURLToPath(new URL('../fixtures/puzzles-small.json', import.meta.url));
const twoPuzzles = JSON.parse(readFileSync(fixture, 'utf8'));

describe('OpenAI puzzles', () => {
  it('reads each puzzle as a feature: bare tokens are 0, firing sentences are top records, the rest random', async () => {
    const puzzles = await readOpenAiPuzzles(fixture);
    expect(puzzles.map((puzzle) => puzzle.name)).toEqual(['fruit', 'dots']);
    const [fruit, dots] = puzzles;
    expect(fruit!.explanation).toBe('names of fruit');
    expect(fruit!.falseExplanations).toEqual(['colours', 'instances of the words "apple" and "pear"']);
    expect(fruit!.feature.id).toEqual({ model: PUZZLES_MODEL, layer: 0, kind: 'neuron', index: 0 });
    expect(dots!.feature.id.index).toBe(1);
    expect(fruit!.feature.top).toEqual([
      {
        tokens: ['I', ' ate', ' an', ' apple', ' and', ' a', ' pear', '.'],
        activations: [0, 0, 0, 9, 0, 0, 7, 0],
      },
      { tokens: ['Plums', ' are', ' sweet', '.'], activations: [10, 0, 0, 0] },
    ]);
    expect(fruit!.feature.random).toEqual([
      { tokens: ['The', ' car', ' was', ' red', '.'], activations: [0, 0, 0, 0, 0] },
    ]);
    expect(fruit!.feature.stats.maxActivation).toBe(10);
    expect(dots!.feature.stats.maxActivation).toBe(4);
  });

  it('names the file and the field of a bad puzzle', () => {
    const bad = { fruit: { ...twoPuzzles.fruit, sentences: [['I', [' ate', 'nine']]] } };
    expect(() => parseOpenAiPuzzles(JSON.stringify(bad), 'p.json')).toThrow(RecordFormatError);
    expect(() => parseOpenAiPuzzles(JSON.stringify(bad), 'p.json')).toThrow(/^p\.json \(fruit\.sentences\[0\]\[1\]/);
    const noFalse = { fruit: { ...twoPuzzles.fruit, false_explanations: [] } };
    expect(() => parseOpenAiPuzzles(JSON.stringify(noFalse), 'p.json')).toThrow(/fruit\.false_explanations/);
    expect(() => parseOpenAiPuzzles('{"fruit": ', 'p.json')).toThrow('p.json: not valid JSON');
    expect(() => parseOpenAiPuzzles('{}', 'p.json')).toThrow('p.json: not an OpenAI puzzles file: no puzzles');
  });
});
