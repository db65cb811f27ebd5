import { describe, expect, it } from 'vitest';
import { loadSimulateTemplate } from '../../src/simulate/simulate-template.ts';
import { buildSimulationPrompt } from '../../src/simulate/build-simulation-prompt.ts';

const template = loadSimulateTemplate(new URL('../fixtures/prompts/simulate.test.json', import.meta.url).pathname);

describe('buildSimulationPrompt (prompt-logprobs)', () => {
  it('reproduces the reference all-at-once prompt (test_make_explanation_simulation_prompt, PromptFormat.NONE)', () => {
    const prompt = buildSimulationPrompt('EXPLANATION', [['0', '1', '2']], { template });
    const expected = `${template.system}

Neuron 1
Explanation of neuron 1 behavior: the main thing this neuron does is find vowels
Activations: 
<start>
a\t10
b\t0
c\t0
<end>
<start>
d\tunknown
e\t10
f\t0
<end>



Neuron 2
Explanation of neuron 2 behavior: the main thing this neuron does is find EXPLANATION
Activations: 
<start>
0\tunknown
1\tunknown
2\tunknown
<end>
`;
    expect(prompt.prompt).toBe(expected);
    expect(prompt.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  });

  it('puts all records in one prompt and returns the exact offset of every target "unknown"', () => {
    const records = [
      [' the', ' cat'],
      [' a', '\tdog', ' sat'],
    ];
    const prompt = buildSimulationPrompt('  cats ', records, { template });
    expect(prompt.unknownOffsets.map((o) => o.length)).toEqual([2, 3]);
    for (const [r, offsets] of prompt.unknownOffsets.entries()) {
      offsets.forEach((offset, i) => {
        expect(prompt.prompt.slice(offset, offset + 'unknown'.length)).toBe('unknown');
        const lineStart = prompt.prompt.lastIndexOf('\n', offset) + 1;
        const shown = records[r]![i]!.replace(/\t/g, '\\t');
        expect(prompt.prompt.slice(lineStart, offset)).toBe(`${shown}\t`);
      });
    }
    expect(prompt.prompt).toContain(
      'find cats\nActivations: \n<start>\n the\tunknown\n cat\tunknown\n<end>\n<start>\n a\tunknown',
    );
    // the few-shot example's hidden value is not a target
    const few = prompt.prompt.indexOf('d\tunknown') + 2;
    expect(prompt.unknownOffsets.flat()).not.toContain(few);
  });
});

describe('buildSimulationPrompt (chat-logprobs)', () => {
  it('shows few-shot records masked then filled in, and the targets masked', () => {
    const prompt = buildSimulationPrompt('EXPLANATION', [['x', 'y']], { template, mode: 'chat-logprobs' });
    expect(prompt.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(prompt.messages[1]!.content).toContain('<start>\na\tunknown\nb\tunknown\nc\tunknown\n<end>');
    expect(prompt.messages[2]!.content).toBe('<start>\na\t10\nb\t0\nc\t0\n<end>\n<start>\nd\t0\ne\t10\nf\t0\n<end>\n');
    expect(prompt.messages[3]!.content).toContain(
      'find EXPLANATION\nActivations: \n<start>\nx\tunknown\ny\tunknown\n<end>\n',
    );
    expect(prompt.promptVersion).toBe('simulate.test+chat');
  });
});
