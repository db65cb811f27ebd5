import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { demoPaths, demoSettings } from '../scripts/build-demo-dataset.ts';
import type { GroundTruthEntry } from '../scripts/build-demo-dataset.ts';
import { explanationCorrelation } from '../scripts/explanation-check.ts';
import { loadConceptLexicon } from '../src/llm/baseline/concept-lexicon.ts';
import { loadExplainTemplate } from '../src/explain/explain-template.ts';
import { loadSimulateTemplate } from '../src/simulate/simulate-template.ts';
import { featureKey } from '../src/records/feature-key.ts';
import { FeatureRecordSchema } from '../src/records/types.ts';
import type { ActivationRecord, FeatureRecord } from '../src/records/types.ts';

const featuresText = readFileSync(demoPaths.features, 'utf8');
const records: FeatureRecord[] = featuresText
  .trim()
  .split('\n')
  .map((line) => FeatureRecordSchema.parse(JSON.parse(line)));
const groundTruth = JSON.parse(readFileSync(demoPaths.groundTruth, 'utf8')) as GroundTruthEntry[];
const lexicon = loadConceptLexicon(demoPaths.lexicon);
const isDead = (entry: GroundTruthEntry): boolean => entry.rule.startsWith('DEAD');

describe('demo dataset (data/demo)', () => {
  it('has one valid FeatureRecord per ground-truth feature, in the same order', () => {
    expect(records).toHaveLength(24);
    expect(records.map((record) => featureKey(record.id))).toEqual(
      groundTruth.map((entry) => featureKey(entry.feature)),
    );
    expect(new Set(records.map((record) => featureKey(record.id))).size).toBe(24);
    expect(new Set(records.map((record) => record.id.layer))).toEqual(new Set([0, 1, 2]));
  });

  it('has exactly one dead feature, which never activates', () => {
    const dead = groundTruth.filter(isDead);
    expect(dead).toHaveLength(1);
    const record = records[groundTruth.indexOf(dead[0] as GroundTruthEntry)] as FeatureRecord;
    expect(record.top).toEqual([]);
    expect(record.stats.maxActivation).toBeLessThanOrEqual(0);
    expect(record.random.every((window) => window.activations.every((value) => value === 0))).toBe(true);
  });

  it('keeps the ground truth out of the records', () => {
    for (const entry of groundTruth) {
      for (const text of [entry.explanation, entry.wrongExplanation, entry.rule]) {
        // As a whole string value anywhere, or as a phrase inside the text ("numbers" alone is an ordinary word).
        expect(featuresText.includes(JSON.stringify(text))).toBe(false);
        if (text.includes(' ')) expect(featuresText.includes(text)).toBe(false);
      }
    }
    expect(featuresText).not.toMatch(/"reference"/);
  });

  describe.each(groundTruth.filter((entry) => !isDead(entry)))('feature $feature.layer/$feature.index', (entry) => {
    const record = records[groundTruth.indexOf(entry)] as FeatureRecord;
    const scored = [...record.top, ...record.random];

    it(`"${entry.explanation}" predicts the planted activations; "${entry.wrongExplanation}" does not`, () => {
      // Read by the project's rule-based simulator (src/llm/baseline), pooled correlation as the scorer computes it.
      expect(explanationCorrelation(entry.explanation, scored, lexicon)).toBeGreaterThanOrEqual(
        demoSettings.minimumTrueCorrelation,
      );
      expect(explanationCorrelation(entry.wrongExplanation, scored, lexicon) ?? 0).toBeLessThanOrEqual(
        demoSettings.maximumWrongCorrelation,
      );
    });
  });
});

describe('few-shot prompts (prompts/*.v1.json)', () => {
  const explain = loadExplainTemplate('explain.v1');
  const simulate = loadSimulateTemplate('simulate.v1');

  it('carry the reference system texts exactly', () => {
    expect(explain.system).toBe(
      "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short document. " +
        'Look at the parts of the document the neuron activates for and summarize in a single sentence what the ' +
        "neuron is looking for. Don't list examples of words.\n\nThe activation format is token<tab>activation. " +
        "Activation values range from 0 to 10. A neuron finding what it's looking for is represented by a non-zero " +
        'activation value. The higher the activation value, the stronger the match.',
    );
    expect(simulate.system).toBe(
      "We're studying neurons in a neural network.\nEach neuron looks for some particular thing in a short " +
        'document.\nLook at summary of what the neuron does, and try to predict how it will fire on each token.\n\n' +
        'The activation format is token<tab>activation, activations go from 0 to 10, "unknown" indicates an unknown ' +
        'activation. Most activations will be 0.\n',
    );
  });

  it('have three examples of 12–25-token records with integer 0–10 activations', () => {
    for (const template of [explain, simulate]) {
      expect(template.examples).toHaveLength(3);
      for (const example of template.examples) {
        expect(example.explanation).toMatch(/^[a-z][^.]*[^.]$/);
        for (const record of example.records) {
          expect(record.tokens.length).toBeGreaterThanOrEqual(12);
          expect(record.tokens.length).toBeLessThanOrEqual(25);
          expect(record.activations.every((value) => Number.isInteger(value) && value >= 0 && value <= 10)).toBe(true);
          expect(Math.max(...record.activations)).toBeGreaterThan(0);
        }
      }
    }
    for (const example of simulate.examples) {
      example.firstRevealedIndices.forEach((position, index) => {
        expect(position).toBeGreaterThan(0);
        expect(position).toBeLessThan((example.records[index] as ActivationRecord).tokens.length);
      });
    }
  });

  it('do not leak the demo: other concepts, other documents', () => {
    const demoExplanations = groundTruth.map((entry) => entry.explanation);
    const demoTexts = records.flatMap((record) =>
      [...record.top, ...record.random, ...(record.quantiles ?? []).flat()].map((window) => window.tokens.join('')),
    );
    for (const example of [...explain.examples, ...simulate.examples]) {
      expect(demoExplanations).not.toContain(example.explanation);
      for (const record of example.records) {
        const middle = record.tokens.slice(3, 11).join('');
        expect(demoTexts.some((text) => text.includes(middle))).toBe(false);
      }
    }
  });
});

describe('demo real features (embedded model brown-1l and its SAEs)', () => {
  it('the committed neuron and SAE-latent records and POS labels are what a fresh extraction of the embedded model gives', async () => {
    const { buildDemoFeatures, demoFeatureSettings, demoFiles } = await import('../scripts/build-demo-features.ts');
    for (const { source, records, labels } of await buildDemoFeatures()) {
      const files = demoFiles(source);
      const committed = readFileSync(files.records, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(committed).toHaveLength(demoFeatureSettings.labelled + demoFeatureSettings.random);
      expect(JSON.parse(JSON.stringify(records))).toEqual(committed);
      const committedLabels = JSON.parse(readFileSync(files.labels, 'utf8')) as { labels: unknown[] };
      expect(labels).toEqual(committedLabels.labels);
      expect(labels.length).toBeGreaterThan(0);
      for (const record of committed) {
        expect(record.id).toMatchObject({
          model: 'brown-1l',
          layer: 'blocks.0.mlp.hook_post',
          kind: source.kind,
          ...(source.kind === 'sae' ? { sae: source.name } : {}),
        });
        // The top record really holds the feature's largest activation over the sample, and can be run again.
        expect(Math.max(...record.top[0].activations)).toBeCloseTo(record.stats.maxActivation, 5);
        expect(record.top[0].tokenIds).toHaveLength(record.top[0].tokens.length);
      }
    }
  }, 300_000);
});
