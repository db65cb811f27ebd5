import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPaths, demoSettings } from '../scripts/build-demo-dataset.ts';
import type { GroundTruthEntry } from '../scripts/build-demo-dataset.ts';
import type { DemoLabel, DemoSource } from '../scripts/build-demo-features.ts';
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
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-demo-features-'));
  const cacheDir = join(directory, 'cache');
  beforeAll(async () => {
    const { extractDemoSample } = await import('../scripts/build-demo-features.ts');
    await extractDemoSample(cacheDir); // the whole sample, afresh, as the script extracts it
  }, 300_000);
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const committedOf = async (source: DemoSource) => {
    const { demoFeatureSettings, demoFiles } = await import('../scripts/build-demo-features.ts');
    const files = demoFiles(source);
    const records = readFileSync(files.records, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(demoFeatureSettings.labelled + demoFeatureSettings.random);
    const labels = (JSON.parse(readFileSync(files.labels, 'utf8')) as { labels: DemoLabel[] }).labels;
    expect(labels.length).toBeGreaterThan(0);
    for (const record of records) {
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
    return { records, labels };
  };

  // The whole choice (the best-labelled and the random features among every candidate) for the neurons and the 1×
  // SAE's latents (every one a candidate); the 4× and 16× SAEs share that code and differ only in their candidates.
  it.each([
    { title: 'neuron', source: { kind: 'neuron' } },
    { title: 'brown-1l-1x latent', source: { kind: 'sae', name: 'brown-1l-1x' } },
  ] as { title: string; source: DemoSource }[])(
    'the committed $title records and POS labels are the sample a fresh extraction of the embedded model gives',
    async ({ source }) => {
      const { sampleDemoSource } = await import('../scripts/build-demo-features.ts');
      const committed = await committedOf(source);
      const { records, labels } = sampleDemoSource(cacheDir, source);
      expect(JSON.parse(JSON.stringify(records))).toEqual(committed.records);
      expect(labels).toEqual(committed.labels);
    },
    300_000,
  );

  it.each(['brown-1l-4x', 'brown-1l-16x'])(
    'the committed %s latents (among its seeded candidates) have the records a fresh extraction gives them, and the best labels of those 16',
    async (name) => {
      const { candidateLatents, demoFeatureSettings, demoSourceRecords } = await import(
        '../scripts/build-demo-features.ts'
      );
      const source: DemoSource = { kind: 'sae', name };
      const committed = await committedOf(source);
      const indices = committed.records.map((record) => record.id.index as number);
      // every latent is one of the SAE's seeded candidates
      const config = new URL(`../data/sae/${name}/cfg.json`, import.meta.url);
      const width = (JSON.parse(readFileSync(config, 'utf8')) as { d_sae: number }).d_sae;
      const candidates = candidateLatents(width);
      expect(candidates).toHaveLength(demoFeatureSettings.candidates);
      for (const index of indices) expect(candidates).toContain(index);
      // the records, over the whole sample (top and random windows, quantiles, stats), as the script builds them
      const { records, labels } = demoSourceRecords(cacheDir, source, indices);
      expect(JSON.parse(JSON.stringify(records))).toEqual(committed.records);
      // the labelled ones are the best-labelled of the 16, with the labels and r the script wrote
      const best = [...labels]
        .sort((a, b) => b.score - a.score)
        .slice(0, demoFeatureSettings.labelled)
        .map(({ score: _, ...label }) => label)
        .sort((a, b) => (a.feature < b.feature ? -1 : 1));
      expect(best).toEqual(committed.labels);
    },
    300_000,
  );
});
