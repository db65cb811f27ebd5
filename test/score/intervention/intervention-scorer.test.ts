import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnthropicProvider } from '../../../src/llm/anthropic-provider.ts';
import { createBaselineProvider } from '../../../src/llm/baseline/baseline-provider.ts';
import { type FakeLlmServer, startFakeLlmServer } from '../../../src/llm/fake-server/fake-llm-server.ts';
import { createOpenAiCompatibleProvider } from '../../../src/llm/openai-compatible-provider.ts';
import type { LlmRequest, LlmResult, Provider } from '../../../src/llm/types.ts';
import type { FeatureRecord } from '../../../src/records/types.ts';
import { loadSaeFolder } from '../../../src/sae/formats.ts';
import { SparseAutoencoder } from '../../../src/sae/sae-model.ts';
import { loadInterventionTemplate } from '../../../src/score/intervention/intervention-template.ts';
import { createInterventionScorer, interventionScorer } from '../../../src/score/intervention/intervention-scorer.ts';
import { generateSteeredRows } from '../../../src/score/intervention/steered-generation.ts';
import { scorerNamed } from '../../../src/score/registry.ts';
import type { FeatureModels, ScorerContext, ScorerResult } from '../../../src/score/scorer.ts';
import { initBackend } from '../../../src/subject/backend.ts';
import type { FeatureTarget } from '../../../src/subject/feature-ablation.ts';
import { generate } from '../../../src/subject/generate.ts';
import { loadSubjectModel, type SubjectModel } from '../../../src/subject/load-subject.ts';
import { clampHooks } from '../../../src/subject/steer.ts';

const dataDir = (path: string) => fileURLToPath(new URL(`../../../data/${path}`, import.meta.url));
const template = loadInterventionTemplate();

/** A feature of the demo's brown-1l records, by its records file and index. */
function demoFeature(file: string, index: number): FeatureRecord {
  const lines = readFileSync(dataDir(`demo/records/${file}.jsonl`), 'utf8')
    .trim()
    .split('\n');
  const feature = lines.map((line) => JSON.parse(line) as FeatureRecord).find((record) => record.id.index === index);
  if (!feature) throw new Error(`no feature ${index} in ${file}`);
  return feature;
}

/** The POS reference label of a demo feature (data/demo/brown-1l-*-labels.json). */
function referenceLabel(file: string, featureId: string): string {
  const { labels } = JSON.parse(readFileSync(dataDir(`demo/${file}`), 'utf8')) as {
    labels: { feature: string; description: string }[];
  };
  const label = labels.find((entry) => entry.feature === featureId);
  if (!label) throw new Error(`no label for ${featureId}`);
  return label.description;
}

/** A provider that answers every request with `text` and counts its calls. */
function cannedJudge(text: string): Provider & { calls: LlmRequest[] } {
  const calls: LlmRequest[] = [];
  return {
    id: 'canned:judge',
    capabilities: { chatLogprobs: false, promptLogprobs: false, batch: false },
    isBaseline: false,
    calls,
    async complete(request): Promise<LlmResult> {
      calls.push(request);
      return {
        text,
        usage: { promptTokens: 1, completionTokens: 1 },
        model: 'canned',
        finishReason: 'stop',
        cached: false,
        warnings: [],
      };
    },
  };
}

let subject: SubjectModel;
let sae1x: SparseAutoencoder;
/** brown-1l-1x latent 103: POS label "the verb has"; clamped, the model writes "been been been…". */
const hasLatent = demoFeature('brown-1l-1x', 103);
/** brown-1l-1x latent 67: POS label "colons"; clamped, the model writes opening quotation marks “ “ “. */
const colonLatent = demoFeature('brown-1l-1x', 67);

function models(): FeatureModels {
  return {
    async resolve(feature) {
      if (feature.id.model !== 'brown-1l')
        return { unavailable: `for model ${feature.id.model}: give its folder with --subject-model` };
      const target: FeatureTarget =
        feature.id.kind === 'neuron'
          ? { kind: 'neuron', hook: String(feature.id.layer), index: feature.id.index }
          : { kind: 'sae', sae: sae1x, index: feature.id.index };
      return { subject, target };
    },
  };
}

function context(judge: Provider, notes: string[] = []): ScorerContext {
  return { judge, models: models(), countTokens: (text) => text.length, note: (line) => notes.push(line) };
}

async function scoreOf(feature: FeatureRecord, explanation: string, judge: Provider, seed = 7): Promise<ScorerResult> {
  const result = await interventionScorer.score({ feature, explanation, splits: [], seed }, context(judge));
  if (!result) throw new Error('the scorer served no result');
  return result;
}

const valueOf = (result: ScorerResult, kind: string) => result.scores.find((score) => score.kind === kind)?.value;

/** The template's prompts as brown-1l token ids, `<|endoftext|>` first (as the scorer and `steer` do). */
function promptIds(): number[][] {
  return template.generation.prompts.map((prompt) => [subject.tokenizer.eosId!, ...subject.tokenizer.encode(prompt)]);
}

beforeAll(async () => {
  await initBackend('auto');
  subject = await loadSubjectModel(dataDir('subject/brown-1l'));
  const loaded = loadSaeFolder(dataDir('sae/brown-1l-1x'));
  sae1x = SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
}, 60_000);
// The slow project shares one process between files (isolate: false): the tensors go with the file.
afterAll(() => {
  sae1x?.dispose();
  subject?.model.dispose();
});

describe('intervention scorer', () => {
  it('is registered, needs a judge and the subject model, and names its kinds', () => {
    expect(scorerNamed('intervention')).toBe(interventionScorer);
    expect(interventionScorer.needs).toEqual({ judge: true, subjectModel: true });
    expect(interventionScorer.kinds).toEqual(['intervention.score', 'intervention.balanced_accuracy']);
  });

  it('generates all rows in one batch: unclamped rows equal generate(), clamped rows equal generate() with the clamp from the last prompt position', async () => {
    const target: FeatureTarget = { kind: 'sae', sae: sae1x, index: 67 };
    const clamp = 2 * colonLatent.stats.maxActivation;
    const ids = promptIds();
    const rows = ids.flatMap((prompt) => [
      { promptIds: prompt, clamp: null },
      { promptIds: prompt, clamp },
    ]);
    const options = { maxNewTokens: template.generation.maxNewTokens, stopTokenIds: [subject.tokenizer.eosId!] };
    const batched = await generateSteeredRows(subject.model, target, rows, options);
    ids.forEach((prompt, index) => {
      expect(batched[2 * index]).toEqual(generate(subject.model, prompt, options));
      const hooks = clampHooks(target, clamp, { fromPosition: prompt.length - 1 });
      expect(batched[2 * index + 1]).toEqual(generate(subject.model, prompt, { ...options, hooks }));
    });
    // The clamp visibly changes the text of this latent.
    expect(ids.filter((_, index) => batched[2 * index]!.join() !== batched[2 * index + 1]!.join()).length).toBe(
      ids.length,
    );
  });

  it('leaves the model as it was: plain generation after scoring equals plain generation before', async () => {
    const before = promptIds().map((prompt) => generate(subject.model, prompt, { maxNewTokens: 10 }));
    await scoreOf(colonLatent, 'opening quotation marks', createBaselineProvider());
    expect(promptIds().map((prompt) => generate(subject.model, prompt, { maxNewTokens: 10 }))).toEqual(before);
  });

  it('scores what brown-1l-1x latent 103 writes ("been"), not its input-side POS label ("the verb has"), as the colon latent', async () => {
    const judge = createBaselineProvider();
    const label = referenceLabel('brown-1l-1x-labels.json', 'brown-1l/blocks.0.mlp.hook_post/sae/103@brown-1l-1x');
    expect(label).toBe('Brown tag "hvz": the verb "has"');
    const output = valueOf(await scoreOf(hasLatent, 'the token "been"', judge), 'intervention.score');
    const input = valueOf(await scoreOf(hasLatent, label, judge), 'intervention.score');
    // The clamped model writes "been been been…" and never its quoted "has" (the latent fires ON "has" and makes the
    // model write what follows): the baseline judge reads the label as the token "has" (its "verb" names the quoted
    // token, not every verb: interpret-explanation), which no text shows, steered or not.
    expect(output).toBe(1);
    expect(input).toBe(0);
  });

  it('measures the output side: "opening quotation marks" scores 22/24 on the colon latent, its input-side label "colons" 0', async () => {
    const judge = createBaselineProvider();
    const label = referenceLabel('brown-1l-1x-labels.json', 'brown-1l/blocks.0.mlp.hook_post/sae/67@brown-1l-1x');
    const output = await scoreOf(colonLatent, 'opening quotation marks', judge);
    // 22 of the 24 steered texts are at least a third “, no plain text is (" “333333333" and " “A “A “A I I I I" are not).
    expect(valueOf(output, 'intervention.score')).toBeCloseTo(22 / 24, 12);
    expect(valueOf(output, 'intervention.balanced_accuracy')).toBeCloseTo(46 / 48, 12);
    const input = await scoreOf(colonLatent, label, judge);
    expect(valueOf(input, 'intervention.score')).toBe(0);
    expect(valueOf(input, 'intervention.balanced_accuracy')).toBe(0.5);
  });

  it('stores each continuation with its truth and the judge answer; the order is shuffled by the seed', async () => {
    const judge = createBaselineProvider();
    const first = await scoreOf(colonLatent, 'opening quotation marks', judge, 1);
    const again = await scoreOf(colonLatent, 'opening quotation marks', judge, 1);
    const other = await scoreOf(colonLatent, 'opening quotation marks', judge, 2);
    const { prompts, strengths } = template.generation;
    const judgements = first.judgements!;
    expect(judgements).toHaveLength(prompts.length * (1 + strengths.length));
    expect(judgements.filter((j) => j.truth)).toHaveLength(prompts.length * strengths.length);
    for (const judgement of judgements) {
      expect(judgement.source).toBe(judgement.truth ? 'steered' : 'unsteered');
      expect(judgement.tokens.length).toBeGreaterThan(0);
    }
    // The judge's answer is stored as given: right on every text but two steered ones (see the test above).
    expect(judgements.filter((j) => j.predicted !== j.truth).map((j) => j.truth)).toEqual([true, true]);
    expect(first.promptVersion).toBe('intervention.v1');
    expect(again.judgements).toEqual(judgements);
    expect(other.judgements!.map((j) => j.tokens.join(''))).not.toEqual(judgements.map((j) => j.tokens.join('')));
    expect(first.scores.every((score) => score.nMissing === 0 && score.nTokens > 0)).toBe(true);
  });

  it('a judge that picks every text, or none, scores chance: 0 (balanced accuracy 0.5)', async () => {
    const count = template.generation.prompts.length * (1 + template.generation.strengths.length);
    for (const label of [1, 0]) {
      const result = await scoreOf(
        colonLatent,
        'anything',
        cannedJudge(`[${new Array(count).fill(label).join(', ')}]`),
      );
      expect(valueOf(result, 'intervention.score')).toBe(0);
      expect(valueOf(result, 'intervention.balanced_accuracy')).toBe(0.5);
    }
  });

  it('says why and returns null for a feature without a model, asking no judge', async () => {
    const judge = cannedJudge('[1]');
    const notes: string[] = [];
    const elsewhere: FeatureRecord = { ...colonLatent, id: { ...colonLatent.id, model: 'gpt2-small' } };
    const result = await interventionScorer.score(
      { feature: elsewhere, explanation: 'colons', splits: [], seed: 1 },
      context(judge, notes),
    );
    expect(result).toBeNull();
    expect(notes).toEqual(['no intervention for model gpt2-small: give its folder with --subject-model']);
    expect(judge.calls).toHaveLength(0);
  });

  it('gives null scores with the reason when the judge answer cannot be read, and keeps the texts unjudged', async () => {
    for (const [answer, reason] of [
      ['They all fit.', "the judge's answer has no [...] list"],
      ['[1, 0, 1]', 'the judge answered 3 labels for 32 texts'],
      ['[yes, no]', "the judge's list is not JSON"],
    ] as const) {
      const result = await scoreOf(colonLatent, 'opening quotation marks', cannedJudge(answer));
      for (const score of result.scores) {
        expect(score.value).toBeNull();
        expect(score.reason).toContain(reason);
        expect(score.nMissing).toBe(32);
      }
      expect(result.judgements!.every((judgement) => judgement.predicted === null)).toBe(true);
    }
  });

  it('does not ask the judge when the clamp changes no continuation (null with the reason)', async () => {
    const judge = cannedJudge('[]');
    const faint = createInterventionScorer({
      ...template,
      generation: { ...template.generation, strengths: [1e-9] },
    });
    const result = await faint.score(
      { feature: colonLatent, explanation: 'colons', splits: [], seed: 1 },
      context(judge),
    );
    expect(judge.calls).toHaveLength(0);
    expect(result!.scores.map((score) => [score.value, score.reason])).toEqual([
      [null, 'clamping the feature at 1e-9× its max activation changed no continuation'],
      [null, 'clamping the feature at 1e-9× its max activation changed no continuation'],
    ]);
  });

  describe('over the wire (fake LLM server)', () => {
    let server: FakeLlmServer;
    beforeAll(async () => {
      server = await startFakeLlmServer();
    });
    afterAll(async () => {
      await server.close();
    });

    it('OpenAI-compatible (with logprobs) and Anthropic judges answer as the in-process baseline does', async () => {
      const offline = await scoreOf(colonLatent, 'opening quotation marks', createBaselineProvider());
      const openai = createOpenAiCompatibleProvider({ model: 'fake', baseURL: server.url, apiKey: 'not-needed' });
      const anthropic = createAnthropicProvider({ model: 'claude-test', baseURL: server.url, apiKey: 'not-needed' });
      for (const judge of [openai, anthropic]) {
        const overHttp = await scoreOf(colonLatent, 'opening quotation marks', judge);
        expect(overHttp.scores, judge.id).toEqual(offline.scores);
        expect(
          overHttp.judgements!.map((j) => j.predicted),
          judge.id,
        ).toEqual(offline.judgements!.map((j) => j.predicted));
      }
      // OpenAI-compatible chat serves logprobs: the request asked for them and the probabilities of "1" were read
      // (the rule-based answer puts all its mass on the label it wrote); Anthropic gives labels only.
      expect(openai.capabilities.chatLogprobs).toBe(true);
      const withLogprobs = await scoreOf(colonLatent, 'opening quotation marks', openai);
      expect(withLogprobs.judgements!.map((j) => j.probability)).toEqual(
        withLogprobs.judgements!.map((j) => (j.predicted ? 1 : 0)),
      );
      const anthropicAnswer = await scoreOf(colonLatent, 'opening quotation marks', anthropic);
      expect(anthropicAnswer.judgements!.every((j) => j.probability === null)).toBe(true);
      expect(server.requests.length).toBeGreaterThanOrEqual(3);
    });
  });
});
