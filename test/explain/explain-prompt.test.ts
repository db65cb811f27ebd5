import { describe, expect, it } from 'vitest';
import {
  buildExplainPrompt,
  EXPLANATION_PREFIX,
  SPARSE_REPEAT_THRESHOLD,
} from '../../src/explain/build-explain-prompt.ts';
import { parseExplanation, ExplanationParseError } from '../../src/explain/parse-explanation.ts';
import { loadExplainTemplate } from '../../src/explain/explain-template.ts';

const template = loadExplainTemplate(new URL('../fixtures/prompts/explain.test.json', import.meta.url).pathname);
const testRecords = template.examples[0]!.records;

describe('buildExplainPrompt', () => {
  it('reproduces the reference harmony-format prompt exactly (openai/automated-interpretability test_harmony_format)', () => {
    const prompt = buildExplainPrompt(testRecords, { template, maxActivation: 1.0 });
    const block = (n: number) => `

Neuron ${n}
Activations:
<start>
a\t10
b\t0
c\t0
<end>
<start>
d\t0
e\t10
f\t0
<end>

Explanation of neuron ${n} behavior: the main thing this neuron does is find`;
    expect(prompt.messages).toEqual([
      { role: 'system', content: template.system },
      { role: 'user', content: block(1) },
      { role: 'assistant', content: ' vowels.' },
      { role: 'user', content: block(2) },
    ]);
    expect(prompt.promptVersion).toBe('explain.test');
  });

  it('repeats the records without zeros only below 20 % non-zero (reference threshold, strict <)', () => {
    expect(SPARSE_REPEAT_THRESHOLD).toBe(0.2);
    const sparse = [{ tokens: ['a', 'b', 'c', 'd', 'e', 'f'], activations: [2, 0, 0, 0, 0, 0] }]; // 1/6 < 0.2
    const atThreshold = [{ tokens: ['a', 'b', 'c', 'd', 'e'], activations: [2, 0, 0, 0, 0] }]; // 1/5 = 0.2
    const sparsePrompt = buildExplainPrompt(sparse, { template: { ...template, examples: [] } }).messages.at(
      -1,
    )!.content;
    expect(sparsePrompt).toContain('Same activations, but with all zeros filtered out:\n<start>\na\t10\n<end>\n');
    const thresholdPrompt = buildExplainPrompt(atThreshold, { template: { ...template, examples: [] } }).messages.at(
      -1,
    )!.content;
    expect(thresholdPrompt).not.toContain('Same activations');
  });

  it('normalizes with floor(10·relu(x)/max), clipping at 10 and negatives at 0', () => {
    const records = [{ tokens: ['x', 'y', 'z', 'w'], activations: [0.35, -1, 1.0, 0.999] }];
    const content = buildExplainPrompt(records, {
      template: { ...template, examples: [] },
      repeatNonZero: false,
    }).messages.at(-1)!.content;
    expect(content).toContain('x\t3\ny\t0\nz\t10\nw\t9\n');
  });

  it('drops few-shot examples first, then records, to fit the token budget', () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ tokens: ['tok', String(i)], activations: [1, 0] }));
    const count = (text: string) => text.length; // a character "tokenizer" keeps the arithmetic visible
    const full = buildExplainPrompt(records, { template, countTokens: count });
    const withoutFewShot = buildExplainPrompt(records, { template: { ...template, examples: [] }, countTokens: count });
    const fitted = buildExplainPrompt(records, {
      template,
      maxPromptTokens: withoutFewShot.promptTokens!,
      countTokens: count,
    });
    expect(fitted.fewShotShown).toBe(0);
    expect(fitted.recordsShown).toBe(6);
    const tighter = buildExplainPrompt(records, {
      template,
      maxPromptTokens: withoutFewShot.promptTokens! - 1,
      countTokens: count,
    });
    expect(tighter.recordsShown).toBeLessThan(6);
    expect(tighter.promptTokens!).toBeLessThanOrEqual(withoutFewShot.promptTokens! - 1);
    expect(full.promptTokens!).toBeGreaterThan(withoutFewShot.promptTokens!);
  });

  it('escapes tabs and newlines inside tokens so the line format holds', () => {
    const content = buildExplainPrompt([{ tokens: ['a\tb', '\n'], activations: [1, 0] }], {
      template: { ...template, examples: [] },
      repeatNonZero: false,
    }).messages.at(-1)!.content;
    expect(content).toContain('a\\tb\t10\n\\n\t0\n');
  });
});

describe('parseExplanation', () => {
  it('cleans a completion to one phrase', () => {
    expect(parseExplanation(' words about the weather.\nNeuron 3')).toBe('words about the weather');
    expect(parseExplanation(`${EXPLANATION_PREFIX} "past tense verbs".`)).toBe('past tense verbs');
    expect(parseExplanation('  the tokens "the", "a" and "an".')).toBe('the tokens "the", "a" and "an"');
  });
  it('refuses an empty completion instead of storing a sentinel', () => {
    expect(() => parseExplanation('  \n')).toThrow(ExplanationParseError);
    expect(() => parseExplanation('.')).toThrow(ExplanationParseError);
  });
});
