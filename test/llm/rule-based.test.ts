import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConceptLexicon } from '../../src/llm/baseline/concept-lexicon.ts';
import { explainFromPrompt, summarizeLastNeuronActivations } from '../../src/llm/baseline/explain-from-prompt.ts';
import { interpretExplanation } from '../../src/llm/baseline/interpret-explanation.ts';
import { classifyRequest, respondToRequest } from '../../src/llm/baseline/rule-based-model.ts';
import {
  predictUnknownValues,
  rewriteTargetRecords,
  simulateEcho,
} from '../../src/llm/baseline/simulate-from-prompt.ts';
import { expectedValue, valueDistribution } from '../../src/llm/baseline/value-distribution.ts';
import type { TokenLogprob } from '../../src/llm/types.ts';
import { explainPrompt, simulationMessages, simulationPrompt, unknownOffsets } from './prompt-fixtures.ts';

const lexicon = loadConceptLexicon(fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url)));

/** Predictions of an explanation over one token sequence. */
function predictAll(explanation: string, tokens: string[]): number[] {
  const { predict } = interpretExplanation(explanation, { lexicon });
  return tokens.map((_, index) => predict(tokens, index));
}

/** Renormalized expected value over the number keys (trimmed) of a position's top logprobs, as the lead's parser. */
function expectedFromTopLogprobs(top: Record<string, number>): number | null {
  let mass = 0;
  let sum = 0;
  for (const [key, logprob] of Object.entries(top)) {
    const trimmed = key.trim();
    if (!/^(?:10|[0-9])$/.test(trimmed)) continue;
    mass += Math.exp(logprob);
    sum += Number(trimmed) * Math.exp(logprob);
  }
  return mass > 0 ? sum / mass : null;
}

function tokenCovering(tokens: readonly TokenLogprob[], offset: number): TokenLogprob | undefined {
  return tokens.find((token) => token.textOffset <= offset && offset < token.textOffset + token.token.length);
}

describe('interpretExplanation', () => {
  it('reads an explanation once per lexicon: a second call reuses the reading, with arrays of its own', () => {
    // The baseline simulator reads the same explanation on every call of a feature (it was 4 % of a demo run's CPU).
    const explanation = 'past tense verbs after "the"; numbers';
    const first = interpretExplanation(explanation, { lexicon });
    const second = interpretExplanation(explanation, { lexicon });
    expect(second.targets[0]).toBe(first.targets[0]); // the same matcher: not read again
    expect(second.clauses).toEqual(first.clauses);
    first.targets.length = 0; // one caller's arrays are its own
    first.clauses[0]!.context.length = 0;
    const third = interpretExplanation(explanation, { lexicon });
    expect(third.targets.map((matcher) => matcher.label)).toEqual(['past tense verbs', 'numbers']);
    expect(third.clauses[0]!.context.map((matcher) => matcher.label)).toEqual(['the']);
    const tokens = [' the', ' ran', ' 42', ' run'];
    expect(tokens.map((_, index) => third.predict(tokens, index))).toEqual([0, 10, 10, 0]);
  });

  it('reads quoted tokens in every quote style, case-insensitively and trimmed', () => {
    const tokens = [' The', ' cat', ' of', ' x', 'y', ' dog'];
    expect(predictAll('the tokens "the", \'of\', “x” and ‘dog’', tokens)).toEqual([10, 0, 10, 10, 0, 10]);
  });

  it('does not take apostrophes for quotes', () => {
    const interpretation = interpretExplanation("the neuron's favourite token 'cat' isn't here", { lexicon });
    expect(interpretation.targets.map((matcher) => matcher.label)).toEqual(['cat']);
  });

  it('reads concept aliases with the lexicon weights and patterns', () => {
    expect(predictAll('determiners', [' the', ' this', ' that', ' cat'])).toEqual([10, 6, 3, 0]);
    expect(predictAll('numbers', [' 42', '3.5', ' two', ' cat'])).toEqual([10, 10, 10, 0]);
  });

  it('finds aliases in any case, with hyphens, and where the text folds to them ("ſ" is "s")', () => {
    // findConcepts skips an alias whose first word is absent from a lower-cased ASCII text without running its regex.
    const labels = (explanation: string) =>
      interpretExplanation(explanation, { lexicon }).targets.map((matcher) => matcher.label);
    expect(labels('PAST-TENSE VERBS')).toEqual(['past tense verbs']);
    expect(labels('Paſt tense verbs')).toEqual(['past tense verbs']);
    expect(labels('past tense verbs, “é”')).toEqual(['past tense verbs', 'é']);
    expect(labels('pasta')).toEqual([]);
  });

  it('lets the longest alias win where aliases overlap', () => {
    const interpretation = interpretExplanation('past tense verbs', { lexicon });
    expect(interpretation.targets.map((matcher) => matcher.label)).toEqual(['past tense verbs']);
    expect(predictAll('past tense verbs', [' ran', ' is', ' run'])).toEqual([10, 0, 0]);
    expect(predictAll('verbs', [' ran', ' is', ' run'])).toEqual([10, 9, 8]);
    expect(predictAll('past-tense verbs', [' walked', ' is'])).toEqual([10, 0]);
  });

  it('reads a word class right before a quoted token as its label, not as the whole class ("the verb "is"")', () => {
    expect(predictAll('the verb "is"', [' ran', ' is', ' run'])).toEqual([0, 10, 0]);
    expect(predictAll('the verbs "is" and "ran"', [' ran', ' is', ' run'])).toEqual([10, 10, 0]);
    // With a word between them the class is named as well: the quoted tokens are examples of it.
    expect(predictAll('verbs like "is"', [' ran', ' is', ' run'])).toEqual([10, 10, 8]);
    expect(predictAll('verbs, and the token "cat"', [' ran', ' cat', ' dog'])).toEqual([10, 10, 0]);
  });

  it('takes the union (max) of several things named', () => {
    expect(predictAll('the token "cat" and numbers, also articles', [' cat', ' 7', ' an', ' dog'])).toEqual([
      10, 10, 10, 0,
    ]);
  });

  it('gates on the previous token with "after", "following" and "preceded by"', () => {
    const tokens = [' the', ' cat', ' saw', ' a', ' dog', ' cat'];
    expect(predictAll('nouns after "the"', tokens)).toEqual([0, 10, 0, 0, 0, 0]);
    expect(predictAll('nouns following determiners', tokens)).toEqual([0, 10, 0, 0, 10, 0]);
    expect(predictAll('nouns preceded by articles', tokens)).toEqual([0, 10, 0, 0, 10, 0]);
    // Only a context named: any token after it.
    expect(predictAll('tokens right after "saw"', tokens)).toEqual([0, 0, 0, 10, 0, 0]);
  });

  it("multiplies the target weight by the previous token's context weight", () => {
    expect(predictAll('nouns after determiners', [' this', ' cat'])).toEqual([0, 6]);
  });

  it('does not read "the following" as a context clause', () => {
    const interpretation = interpretExplanation('the following words: "cat" and "dog"', { lexicon });
    expect(interpretation.context).toEqual([]);
    expect(predictAll('the following words: "cat" and "dog"', [' cat', ' dog', ' the'])).toEqual([10, 10, 0]);
  });

  it('ends a context clause at the end of its sentence', () => {
    expect(predictAll('nouns after "the". Also numbers', [' 5', ' cat', ' the', ' cat'])).toEqual([10, 0, 0, 10]);
  });

  it('reads unquoted word lists where they cannot be prose, as if the words were quoted', () => {
    const tokens = [' my', ' wife', ',', ' father', ' and', ' son', ' Son'];
    // the explanation: it simulated to a constant before
    expect(predictAll('family members like wife, father, son', tokens)).toEqual([0, 10, 0, 10, 0, 10, 10]);
    expect(predictAll('family members like wife, father and son.', tokens)).toEqual([0, 10, 0, 10, 0, 10, 10]);
    // three or more words joined by commas need no cue; two need one (like, such as, e.g., including, a colon)
    expect(predictAll('wife, father, or son', tokens)).toEqual([0, 10, 0, 10, 0, 10, 10]);
    expect(predictAll('relatives such as wife and son', tokens)).toEqual([0, 10, 0, 0, 0, 10, 10]);
    expect(predictAll('relatives: wife, son', tokens)).toEqual([0, 10, 0, 0, 0, 10, 10]);
    expect(
      interpretExplanation('tokens like wife, father, son', { lexicon }).targets.map((matcher) => [
        matcher.kind,
        matcher.label,
      ]),
    ).toEqual([
      ['listed-word', 'wife'],
      ['listed-word', 'father'],
      ['listed-word', 'son'],
    ]);
    // a list in a context clause gates like quoted tokens
    expect(predictAll('words right after my, his or her', tokens)).toEqual([0, 10, 0, 0, 0, 0, 0]);
  });

  it('leaves ambiguous unquoted words unread: a lone word, two without a cue, and lists through quotes or word classes', () => {
    expect(interpretExplanation('cats and dogs', { lexicon }).recognized).toBe(false);
    expect(interpretExplanation('the word wife', { lexicon }).recognized).toBe(false);
    expect(interpretExplanation('family members', { lexicon }).recognized).toBe(false);
    // "and" and "or" are separators, never listed words; quoted tokens and concept aliases keep their own reading
    const labels = (explanation: string) =>
      interpretExplanation(explanation, { lexicon }).targets.map((matcher) => `${matcher.kind}:${matcher.label}`);
    expect(labels('the tokens "the", "a" and "an"')).toEqual(['quoted-token:the', 'quoted-token:a', 'quoted-token:an']);
    expect(labels('nouns, verbs and determiners')).toEqual(['concept:nouns', 'concept:verbs', 'concept:determiners']);
  });

  it('predicts 0 everywhere when nothing is recognised', () => {
    const interpretation = interpretExplanation('vague feelings of unease', { lexicon });
    expect(interpretation.recognized).toBe(false);
    expect(predictAll('vague feelings of unease', [' the', ' cat'])).toEqual([0, 0]);
  });
});

describe('explainFromPrompt', () => {
  it('names the tokens of the last neuron with the highest mean activation', () => {
    const prompt = explainPrompt([
      { tokens: [' the', ' cat', ' a', ' dog'], values: [10, 0, 7, 0] },
      { tokens: [' The', ' an', ' sat'], values: [8, 5, 1] },
    ]);
    expect(explainFromPrompt(prompt, { maxTokensNamed: 3 })).toBe(' the tokens "the", "a" and "an".');
    expect(explainFromPrompt(prompt)).toBe(' the tokens "the", "a", "an" and "sat".'); // default: up to 8
  });

  it('ignores the zeros-filtered repetition when computing means', () => {
    const records = [
      { tokens: [' the', ' cat', ' the', ' dog', ' the'], values: [9, 0, 0, 0, 0] },
      { tokens: [' cat', ' on'], values: [4, 0] },
    ];
    const summary = summarizeLastNeuronActivations(explainPrompt(records, { filteredRepeat: true }));
    expect(summary.find((entry) => entry.token === 'the')).toEqual({ token: 'the', meanActivation: 3, count: 3 });
    expect(explainFromPrompt(explainPrompt(records, { filteredRepeat: true }))).toBe(' the tokens "the" and "cat".');
  });

  it('breaks ties by count, then alphabetically', () => {
    const prompt = explainPrompt([{ tokens: ['b', 'a', 'c', 'c', 'd'], values: [5, 5, 5, 5, 1] }]);
    expect(explainFromPrompt(prompt, { maxTokensNamed: 3 })).toBe(' the tokens "c", "a" and "b".');
  });

  it('says so when nothing is active', () => {
    expect(explainFromPrompt(explainPrompt([{ tokens: [' a', ' b'], values: [0, 0] }]))).toBe(
      ' nothing in particular; it never fires.',
    );
  });

  it('names a word class when it predicts the shown records better than the token list', () => {
    const records = [
      { tokens: [' the', ' cat', ' ran', ' a', ' dog'], values: [0, 9, 0, 0, 8] },
      { tokens: [' the', ' house', ' walked'], values: [0, 7, 0] },
    ];
    // Naming two tokens misses "house"; nouns cover every active token and none of the silent ones, and "after the"
    // does not explain "dog" after "a".
    expect(explainFromPrompt(explainPrompt(records), { lexicon, maxTokensNamed: 2 })).toBe(
      ' nouns, such as "cat" and "dog".',
    );
    // without a lexicon, only tokens
    expect(explainFromPrompt(explainPrompt(records), { maxTokensNamed: 2 })).toBe(' the tokens "cat" and "dog".');
  });

  it('adds a context clause when one previous token precedes the activations', () => {
    const records = [
      { tokens: [' the', ' cat', ' ran', ' a', ' dog', ' the', ' dog'], values: [0, 9, 0, 0, 0, 0, 8] },
      { tokens: [' the', ' house', ' a', ' cat'], values: [0, 7, 0, 0] },
    ];
    expect(explainFromPrompt(explainPrompt(records), { lexicon })).toBe(' nouns right after "the".');
  });

  it('keeps the token list when a class would predict the shown records worse', () => {
    const records = [{ tokens: [' cat', ' dog', ' house', ' cat', ' ran'], values: [9, 0, 0, 9, 0] }];
    expect(explainFromPrompt(explainPrompt(records), { lexicon })).toBe(' the token "cat".');
  });

  it('round-trips: its explanation, read back, predicts the tokens it named', () => {
    const explanation = explainFromPrompt(explainPrompt([{ tokens: [' of', ' the', ' cat'], values: [10, 6, 0] }]));
    expect(predictAll(explanation, [' of', ' the', ' cat'])).toEqual([10, 10, 0]);
  });
});

describe('simulation from the prompt', () => {
  const targets = [
    [' the', ' cat', ' sat', ' on', ' the', ' dog'],
    [' a', ' dog', ' ran', ' 42'],
  ];
  const prompt = simulationPrompt('nouns after "the"', targets);

  it("predicts each unknown from its own block's explanation", () => {
    const predictions = predictUnknownValues(prompt, lexicon);
    expect(predictions).toHaveLength(1 + 10);
    expect(predictions[0]).toMatchObject({ token: 'd', neuronNumber: 1, prediction: 0 });
    expect(predictions.slice(1).map((prediction) => prediction.prediction)).toEqual([0, 10, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  it('echo: tokens reconstruct the prompt, the first has no logprob, every unknown has number alternatives', async () => {
    const tokens = await simulateEcho(prompt, { lexicon, topK: 5 });
    expect(tokens.map((token) => token.token).join('')).toBe(prompt);
    expect(tokens[0]?.logprob).toBeNull();
    for (const token of tokens)
      expect(prompt.slice(token.textOffset, token.textOffset + token.token.length)).toBe(token.token);
    const predictions = predictUnknownValues(prompt, lexicon);
    const offsets = unknownOffsets(prompt);
    expect(offsets).toEqual(predictions.map((prediction) => prediction.offset));
    for (const prediction of predictions) {
      const token = tokenCovering(tokens, prediction.offset);
      expect(token, `token at offset ${prediction.offset}`).toBeDefined();
      const top = token?.topLogprobs ?? {};
      expect(Object.keys(top)).toHaveLength(5);
      expect(Object.keys(top).some((key) => key.trim() === 'unknown')).toBe(true);
      const expected = expectedFromTopLogprobs(top);
      expect(expected).not.toBeNull();
      expect(Math.abs((expected ?? 99) - prediction.prediction)).toBeLessThan(0.3);
    }
  });

  it('value distributions peak so that the expected value tracks any prediction', () => {
    for (const prediction of [0, 0.5, 2.25, 5, 7.8, 10]) {
      const distribution = valueDistribution(prediction);
      expect(distribution.reduce((sum, alternative) => sum + alternative.probability, 0)).toBeCloseTo(1, 10);
      expect(Math.abs((expectedValue(distribution) ?? 99) - prediction)).toBeLessThan(0.2);
    }
  });

  it('chat: rewrites the target records with rounded predictions and value tokens carrying the distribution', async () => {
    const messages = simulationMessages('nouns after "the"', targets);
    const result = await respondToRequest({ messages, maxTokens: 500, logprobs: { topK: 5 } }, { lexicon });
    expect(result.text).toBe(
      '<start>\n the\t0\n cat\t10\n sat\t0\n on\t0\n the\t0\n dog\t10\n<end>\n<start>\n a\t0\n dog\t0\n ran\t0\n 42\t0\n<end>',
    );
    const tokens = result.tokens ?? [];
    expect(tokens.map((token) => token.token).join('')).toBe(result.text);
    const valueOffsets = [...result.text.matchAll(/\t(\d+)\n/g)].map((match) => ({
      offset: match.index + 1,
      value: Number(match[1]),
    }));
    expect(valueOffsets).toHaveLength(10);
    for (const { offset, value } of valueOffsets) {
      const token = tokenCovering(tokens, offset);
      expect(token?.token.trim()).toBe(String(value));
      expect(Math.abs((expectedFromTopLogprobs(token?.topLogprobs ?? {}) ?? 99) - value)).toBeLessThan(0.3);
    }
    expect(result.usage.completionTokens).toBe(tokens.length);
    expect(result.usage.promptTokens).toBeGreaterThan(50);
  });

  it('rewrite of a prompt whose last block asks for nothing is empty', () => {
    expect(rewriteTargetRecords('no neurons here', lexicon)).toEqual({ text: '', values: [] });
  });
});

describe('respondToRequest', () => {
  const targets = [[' the', ' cat', ' sat']];

  it('classifies explain and simulate requests from the text and the endpoint from the shape', () => {
    expect(classifyRequest({ prompt: simulationPrompt('nouns', targets), maxTokens: 0 })).toEqual({
      kind: 'simulate',
      endpoint: 'completions',
    });
    expect(classifyRequest({ messages: simulationMessages('nouns', targets), maxTokens: 10 })).toEqual({
      kind: 'simulate',
      endpoint: 'chat',
    });
    expect(
      classifyRequest({
        messages: [{ role: 'user', content: explainPrompt([{ tokens: ['a'], values: [3] }]) }],
        maxTokens: 10,
      }),
    ).toEqual({ kind: 'explain', endpoint: 'chat' });
  });

  it('echo with max_tokens 0: empty completion, tokens over the prompt, finish "length", model named', async () => {
    const prompt = simulationPrompt('nouns', targets);
    const result = await respondToRequest({ prompt, maxTokens: 0, logprobs: { topK: 3, echo: true } }, { lexicon });
    expect(result.text).toBe('');
    expect(result.finishReason).toBe('length');
    expect(result.model).toBe('rule-based-v1');
    expect(result.usage.completionTokens).toBe(0);
    expect(result.usage.promptTokens).toBe(result.tokens?.length);
    expect(result.tokens?.map((token) => token.token).join('')).toBe(prompt);
  });

  it('explains through the chat shape, a few-shot assistant answer included, and honours stop and maxTokens', async () => {
    const prompt = explainPrompt([{ tokens: [' of', ' the'], values: [10, 2] }]);
    const result = await respondToRequest(
      { messages: [{ role: 'user', content: prompt }], maxTokens: 50 },
      { lexicon },
    );
    expect(result.text).toBe(' the tokens "of" and "the".');
    expect(result.tokens).toBeUndefined();
    const stopped = await respondToRequest({ prompt, maxTokens: 50, stop: [' and'] }, { lexicon });
    expect(stopped).toMatchObject({ text: ' the tokens "of"', finishReason: 'stop' });
    const cut = await respondToRequest({ prompt, maxTokens: 2, logprobs: { topK: 2 } }, { lexicon });
    expect(cut.finishReason).toBe('length');
    expect(cut.usage.completionTokens).toBe(2);
    expect(cut.tokens?.map((token) => token.token).join('')).toBe(cut.text);
  });

  it('is deterministic', async () => {
    const request = {
      prompt: simulationPrompt('determiners', targets),
      maxTokens: 0,
      logprobs: { topK: 5, echo: true },
    };
    expect(await respondToRequest(request, { lexicon })).toEqual(await respondToRequest(request, { lexicon }));
  });

  it('warns when asked to sample with a temperature', async () => {
    const result = await respondToRequest(
      { prompt: simulationPrompt('nouns', targets), maxTokens: 0, temperature: 1 },
      { lexicon },
    );
    expect(result.warnings.join(' ')).toMatch(/temperature/);
  });
});
