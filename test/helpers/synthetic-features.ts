/** Synthetic feature records for pipeline tests: feature i fires on token "t{i}" (graded by position), plus one dead feature. */
import { writeFileSync } from 'node:fs';
import type { FeatureRecord } from '../../src/records/types.ts';

export function syntheticFeatures(count: number, options: { dead?: boolean } = {}): FeatureRecord[] {
  const window = (i: number, fire: boolean, seed: number) => {
    const tokens = Array.from({ length: 8 }, (_, k) => (fire && k % 3 === 0 ? `t${i}` : `w${seed}-${k % 4}`)); // distinct windows
    return { tokens, activations: tokens.map((t, k) => (t === `t${i}` ? 1 + k / 8 : 0)) };
  };
  const features: FeatureRecord[] = Array.from({ length: count }, (_, i) => ({
    id: { model: 'synthetic', layer: i % 3, kind: 'neuron' as const, index: i },
    top: Array.from({ length: 20 }, (_, r) => window(i, true, r)),
    random: Array.from({ length: 10 }, (_, r) => window(i, r % 2 === 0, 100 + r)),
    stats: { mean: 0.3, variance: 0.2, skewness: null, kurtosis: null, maxActivation: 1.875, density: 0.2 },
  }));
  if (options.dead !== false) {
    features.push({
      id: { model: 'synthetic', layer: 0, kind: 'neuron', index: count },
      top: [{ tokens: ['a', 'b'], activations: [0, 0] }],
      random: [{ tokens: ['c', 'd'], activations: [0, 0] }],
      stats: { mean: 0, variance: 0, skewness: null, kurtosis: null, maxActivation: 0, density: 0 },
    });
  }
  return features;
}

export function writeFeaturesJsonl(path: string, features: FeatureRecord[]): string {
  writeFileSync(path, features.map((f) => JSON.stringify(f)).join('\n'));
  return path;
}
