import { describe, expect, it } from 'vitest';
import { createMockProvider, textResult } from '../../../src/llm/mock-provider.ts';
import { LlmCallError, type LlmRequest } from '../../../src/llm/types.ts';
import { detectionScorer } from '../../../src/score/classifier/detection-scorer.ts';
import { fuzzingScorer } from '../../../src/score/classifier/fuzzing-scorer.ts';
import type { ScorerContext } from '../../../src/score/scorer.ts';
import { syntheticSplits } from './synthetic-splits.ts';

/** The example lines of the request's last turn. */
const exampleLines = (request: LlmRequest) =>
  request
    .messages!.at(-1)!
    .content.split('\n')
    .filter((line) => /^Example \d+: /.test(line));

/** A judge that answers 1 for each example line that shows " cat" (for fuzzing: a mark that begins with "cat"). */
function catJudge(marked: boolean, capabilities = {}) {
  return createMockProvider({
    capabilities,
    respond: (request) =>
      textResult(
        `[${exampleLines(request)
          .map((line) => (line.includes(marked ? '<<cat' : ' cat') ? 1 : 0))
          .join(', ')}]`,
      ),
  });
}

const context = (judge: ScorerContext['judge'], notes: string[] = []): ScorerContext => ({
  judge,
  countTokens: (text) => text.length,
  note: (line) => notes.push(line),
});

describe('detection scorer', () => {
  it('asks ~5 examples a prompt, never shows the explain split, and scores the answers against the truth', async () => {
    const { feature, splits } = syntheticSplits();
    const judge = catJudge(false);
    const result = await detectionScorer.score(
      { feature, explanation: 'the word "cat"', splits, seed: 5 },
      context(judge),
    );
    expect(result!.promptVersion).toBe('detection.v1');
    const shown = judge.requests.flatMap(exampleLines);
    expect(shown).toHaveLength(result!.judgements!.length);
    expect(judge.requests.every((request) => exampleLines(request).length <= 5)).toBe(true);
    expect(judge.requests.flatMap((r) => r.messages!.map((m) => m.content)).join('\n')).not.toContain('explainonly');
    expect(judge.requests.every((request) => request.logprobs?.topK === 5 && request.temperature === 0)).toBe(true);
    const judgements = result!.judgements!;
    // the judge says 1 exactly for windows showing " cat": every activating one and every hard negative
    for (const judgement of judgements) {
      expect(judgement.predicted).toBe(judgement.tokens.includes(' cat'));
      expect(judgement.probability).toBeNull();
      expect(judgement.highlighted).toBeUndefined();
    }
    const hard = judgements.filter((j) => j.source === 'hard-negative').length;
    const negatives = judgements.filter((j) => !j.truth).length;
    const rows = Object.fromEntries(result!.scores.map((row) => [row.kind, row.value]));
    expect(rows['detection.recall']).toBe(1);
    expect(rows['detection.balanced_accuracy']).toBeCloseTo((1 + (negatives - hard) / negatives) / 2, 12);
    expect(rows['detection.auroc']).toBeUndefined();
    expect(detectionScorer.kinds.every((kind) => kind in rows)).toBe(true);
  });

  it('leaves the examples of an unreadable answer out (nMissing), and passes an LLM error on', async () => {
    const { feature, splits } = syntheticSplits();
    const flaky = createMockProvider({
      respond: (request, call) =>
        call === 0
          ? textResult('I think they all fit.')
          : textResult(
              `[${exampleLines(request)
                .map(() => 1)
                .join(', ')}]`,
            ),
    });
    const result = await detectionScorer.score({ feature, explanation: 'x', splits, seed: 5 }, context(flaky));
    const firstPrompt = exampleLines(flaky.requests[0]!).length;
    expect(result!.judgements!.filter((j) => j.predicted === null)).toHaveLength(firstPrompt);
    expect(result!.scores.find((row) => row.kind === 'detection.balanced_accuracy')).toMatchObject({
      value: 0.5,
      nMissing: firstPrompt,
    });
    const failing = createMockProvider({
      respond: () => {
        throw new LlmCallError('server said 500', { status: 500, retryable: true });
      },
    });
    await expect(
      detectionScorer.score({ feature, explanation: 'x', splits, seed: 5 }, context(failing)),
    ).rejects.toThrow('server said 500');
  });

  it('a feature with no activating window gets null rows with the reason and no judge call', async () => {
    const { feature, splits } = syntheticSplits();
    const silent = splits.map((split) => ({
      ...split,
      record: { ...split.record, activations: split.record.activations.map(() => 0) },
    }));
    const judge = catJudge(false);
    const notes: string[] = [];
    const result = await detectionScorer.score(
      { feature, explanation: 'x', splits: silent, seed: 1 },
      context(judge, notes),
    );
    expect(judge.requests).toHaveLength(0);
    expect(result!.scores.map((row) => row.kind)).toEqual([...detectionScorer.kinds]);
    expect(result!.scores.every((row) => row.value === null && row.reason?.includes('no activating window'))).toBe(
      true,
    );
    expect(notes).toHaveLength(1);
  });

  it('does not ask for logprobs from a judge without chat logprobs', async () => {
    const { feature, splits } = syntheticSplits();
    const judge = catJudge(false, { chatLogprobs: false });
    await detectionScorer.score({ feature, explanation: 'x', splits, seed: 5 }, context(judge));
    expect(judge.requests.every((request) => request.logprobs === undefined)).toBe(true);
  });
});

describe('fuzzing scorer', () => {
  it('shows the same windows with marks; correct marks on activating windows, random ones elsewhere', async () => {
    const { feature, splits } = syntheticSplits();
    const detection = await detectionScorer.score(
      { feature, explanation: 'x', splits, seed: 5 },
      context(catJudge(false)),
    );
    const judge = catJudge(true);
    const result = await fuzzingScorer.score(
      { feature, explanation: 'the word "cat"', splits, seed: 5 },
      context(judge),
    );
    expect(result!.promptVersion).toBe('fuzzing.v1');
    const key = (tokens: string[]) => tokens.join('|');
    expect(result!.judgements!.map((j) => key(j.tokens)).sort()).toEqual(
      detection!.judgements!.map((j) => key(j.tokens)).sort(),
    );
    for (const judgement of result!.judgements!) {
      expect(judgement.highlighted!.length).toBeGreaterThan(0);
      if (judgement.truth) expect(judgement.highlighted!.every((p) => judgement.tokens[p] === ' cat')).toBe(true);
    }
    expect(judge.requests.flatMap(exampleLines).every((line) => line.includes('<<'))).toBe(true);
    expect(result!.scores.find((row) => row.kind === 'fuzzing.recall')!.value).toBe(1);
  });
});
