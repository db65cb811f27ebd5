/**
 * @module report/regress — the regression gate on a comparison. Rules (d = candidate − baseline, per paired
 * feature; CI = the percentile paired-bootstrap CI of mean(d) at the chosen level, 95 % by default):
 *
 * - `significant` (default): a regression when the mean drop exceeds the threshold AND the drop is statistically
 *   significant: mean(d) < −maxDrop and CI.high < 0. A drop that large which the CI cannot tell from noise passes
 *   (with a line saying so); so does a real but small drop (≤ maxDrop). With no true difference the gate fires
 *   with probability ≤ (1 − level) / 2.
 * - `confident`: a regression only when the whole CI lies below −maxDrop (CI.high < −maxDrop): the drop exceeds
 *   the threshold with confidence. Stricter about firing; a drop just over the threshold on few features passes.
 */
import type { ConfidenceInterval, PairedDifference } from './bootstrap.ts';
import type { Comparison } from './compare.ts';
import { InputError } from '../common/errors.ts';

export type RegressionRule = 'significant' | 'confident';
export const REGRESSION_RULES: readonly RegressionRule[] = ['significant', 'confident'];

export interface RegressionDecision {
  regression: boolean;
  /** One line saying why. */
  reason: string;
}

export interface LayerDecision extends RegressionDecision {
  model: string;
  layer: string;
  featureKind: string;
  sae: string;
  n: number;
  meanDifference: number;
  ci: ConfidenceInterval | null;
}

export interface RegressionVerdict extends RegressionDecision {
  rule: RegressionRule;
  maxDrop: number;
  scoreKind: string;
  n: number;
  baselineMean: number;
  candidateMean: number;
  meanDifference: number;
  ci: ConfidenceInterval;
  /** The same rule applied to each layer: information only, the exit code follows the overall verdict. */
  layers: LayerDecision[];
}

/** Not enough pairs for a CI: neither pass nor regression can be claimed (a data error, exit 2). */
export class UndecidableError extends InputError {
  override readonly name = 'UndecidableError';
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
const interval = (ci: ConfidenceInterval) =>
  `${Math.round(ci.level * 100)}% CI [${signed(ci.low)}, ${signed(ci.high)}]`;

/** The rule on one paired difference. */
export function decideRegression(
  difference: PairedDifference,
  maxDrop: number,
  rule: RegressionRule = 'significant',
): RegressionDecision {
  if (!(maxDrop >= 0) || !Number.isFinite(maxDrop))
    throw new RangeError(`max drop must be a finite number ≥ 0, got ${maxDrop}`);
  const { ci, meanDifference: d } = difference;
  if (!ci)
    throw new UndecidableError(
      `only ${difference.n} paired feature(s): at least 2 are needed for a confidence interval`,
    );
  const summary = `Δ mean ${signed(d)}, ${interval(ci)}, n = ${difference.n}`;
  if (rule === 'confident') {
    return ci.high < -maxDrop
      ? {
          regression: true,
          reason: `${summary}: the whole CI is below −${maxDrop} (the drop exceeds max-drop with confidence)`,
        }
      : {
          regression: false,
          reason:
            d >= 0
              ? `${summary}: no drop`
              : `${summary}: the CI reaches above −${maxDrop}, so a drop beyond max-drop is not established`,
        };
  }
  if (d >= -maxDrop) {
    return {
      regression: false,
      reason: `${summary}: ${d >= 0 ? 'no drop' : `drop ${(-d).toFixed(3)} is within max-drop ${maxDrop}`}`,
    };
  }
  if (ci.high >= 0) {
    return {
      regression: false,
      reason: `${summary}: drop ${(-d).toFixed(3)} exceeds max-drop ${maxDrop} but the CI includes 0 (not significant)`,
    };
  }
  return {
    regression: true,
    reason: `${summary}: drop ${(-d).toFixed(3)} exceeds max-drop ${maxDrop} and the CI is below 0`,
  };
}

export function regressionVerdict(
  comparison: Comparison,
  maxDrop: number,
  rule: RegressionRule = 'significant',
): RegressionVerdict {
  const overall = decideRegression(comparison.overall, maxDrop, rule);
  const layers = comparison.layers.map((layer): LayerDecision => {
    let decision: RegressionDecision;
    try {
      decision = decideRegression(layer, maxDrop, rule);
    } catch (error) {
      if (!(error instanceof UndecidableError)) throw error;
      decision = { regression: false, reason: error.message };
    }
    return {
      model: layer.model,
      layer: layer.layer,
      featureKind: layer.featureKind,
      sae: layer.sae,
      n: layer.n,
      meanDifference: layer.meanDifference,
      ci: layer.ci,
      ...decision,
    };
  });
  return {
    ...overall,
    rule,
    maxDrop,
    scoreKind: comparison.scoreKind,
    n: comparison.overall.n,
    baselineMean: comparison.overall.baselineMean,
    candidateMean: comparison.overall.candidateMean,
    meanDifference: comparison.overall.meanDifference,
    ci: comparison.overall.ci!,
    layers,
  };
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Text for XML content and attributes: entities escaped, characters XML 1.0 forbids dropped. */
const xml = (text: string) =>
  text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);

/**
 * JUnit XML for CI systems: one test case, failed exactly when the gate fails (so the report agrees with the exit
 * code); the per-layer breakdown and warnings go to system-out.
 */
export function regressionJunit(comparison: Comparison, verdict: RegressionVerdict, details: string): string {
  const name = `${verdict.scoreKind}: candidate run ${comparison.candidate.id} vs baseline run ${comparison.baseline.id} (max-drop ${verdict.maxDrop}, rule ${verdict.rule})`;
  const failures = verdict.regression ? 1 : 0;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="autointerp regress" tests="1" failures="${failures}" errors="0">`,
    `  <testsuite name="autointerp regress" tests="1" failures="${failures}" errors="0" skipped="0">`,
    `    <testcase classname="autointerp.regress" name="${xml(name)}">`,
    ...(verdict.regression
      ? [
          `      <failure message="${xml(`regression: ${verdict.reason}`)}" type="regression">${xml(verdict.reason)}</failure>`,
        ]
      : []),
    `      <system-out>${xml(details)}</system-out>`,
    '    </testcase>',
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
