/** @module report/format-compare — compare and regress results as text (stdout) and JSON. */
import Table from 'cli-table3';
import type { ConfidenceInterval } from './bootstrap.ts';
import type { Comparison, PairedFeature, ComparedRun, UnpairedCount } from './compare.ts';
import type { RegressionVerdict } from './regress.ts';
import { escapeTerminalText } from './terminal-text.ts';

const fixed = (value: number, digits = 3) => value.toFixed(digits);
const signed = (value: number, digits = 3) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
const interval = (ci: ConfidenceInterval | null) => (ci ? `[${signed(ci.low)}, ${signed(ci.high)}]` : '—');
const truncate = (text: string | null, width: number) =>
  text === null ? '—' : text.length > width ? `${text.slice(0, width - 1)}…` : text;
const runLabel = (run: ComparedRun) =>
  `run ${run.id} "${run.name}" (${run.explainer} → ${run.simulator}${run.baseline ? ', BASELINE offline' : ''}${run.status === 'finished' ? '' : `, ${run.status}`})`;

/** `4.0 calls, 12,345 prompt tokens, $0.0123` per feature ($ only where calls were priced). */
const costLine = ({ costPerFeature: cost }: ComparedRun) =>
  `${cost.calls.toFixed(1)} calls, ${Math.round(cost.promptTokens).toLocaleString('en-US')} prompt tokens${cost.costUsd === null ? '' : `, $${cost.costUsd.toFixed(4)}`}`;

const STATUS_WORDS = {
  scored: 'scored',
  null: 'null score',
  failed: 'failed',
  skipped: 'skipped',
  absent: 'absent',
} as const;

/** "3 × baseline scored / candidate null score (candidate: …: 3)". */
export function describeUnpaired(entry: UnpairedCount): string {
  const reasons = Object.entries(entry.reasons)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([reason, n]) => `${reason} ×${n}`);
  return `${entry.count} × baseline ${STATUS_WORDS[entry.baseline]} / candidate ${STATUS_WORDS[entry.candidate]}${reasons.length ? ` (${reasons.join('; ')})` : ''}`;
}

/** Warning lines, each starting with "WARNING:", for stderr (printed once, there; not repeated in the text output). */
export function warningLines(comparison: Comparison): string[] {
  return comparison.warnings.map((w) =>
    escapeTerminalText(`WARNING: ${w.message}${w.instrument ? ' (--strict refuses this)' : ''}`),
  );
}

function movedTable(title: string, features: readonly PairedFeature[]): string[] {
  if (features.length === 0) return [];
  const table = new Table({
    head: ['feature', 'baseline', 'candidate', 'Δ', 'baseline explanation', 'candidate explanation'],
    style: { head: [], border: [] },
  });
  for (const f of features) {
    table.push(
      [
        f.featureKey,
        fixed(f.baseline),
        fixed(f.candidate),
        signed(f.difference),
        truncate(f.baselineExplanation, 36),
        truncate(f.candidateExplanation, 36),
      ].map(escapeTerminalText),
    );
  }
  return [title, table.toString()];
}

/** The comparison as text for a terminal (warnings apart: `warningLines`); control characters escaped. */
export function formatComparisonText(comparison: Comparison): string {
  const { overall } = comparison;
  const level = Math.round(comparison.bootstrap.level * 100);
  const lines = [
    `Compare ${comparison.scoreKind} (candidate − baseline, paired by feature)`,
    `  baseline:  ${runLabel(comparison.baseline)}`,
    `  candidate: ${runLabel(comparison.candidate)}`,
    `cost per feature: baseline ${costLine(comparison.baseline)} · candidate ${costLine(comparison.candidate)}`,
    `paired features: ${comparison.paired} of ${comparison.features} (both runs have a defined score)`,
    ...comparison.unpaired.map((entry) => `not paired: ${describeUnpaired(entry)}`),
    `overall: baseline ${fixed(overall.baselineMean)} → candidate ${fixed(overall.candidateMean)}, Δ ${signed(overall.meanDifference)}, ${level}% CI ${interval(overall.ci)}, n = ${overall.n}`,
  ].map(escapeTerminalText);
  const table = new Table({
    head: ['model', 'layer', 'kind', 'n', 'baseline', 'candidate', 'Δ mean', `${level}% CI`],
    style: { head: [], border: [] },
  });
  for (const layer of comparison.layers) {
    const cells = [
      layer.model,
      layer.layer,
      layer.sae ? `${layer.featureKind} ${layer.sae}` : layer.featureKind,
      layer.n,
      fixed(layer.baselineMean),
      fixed(layer.candidateMean),
      signed(layer.meanDifference),
      interval(layer.ci),
    ];
    table.push(cells.map((cell) => (typeof cell === 'string' ? escapeTerminalText(cell) : cell)));
  }
  lines.push(table.toString());
  lines.push(...movedTable('most worsened:', comparison.mostWorsened));
  lines.push(...movedTable('most improved:', comparison.mostImproved));
  return lines.join('\n');
}

export function formatRegressionText(comparison: Comparison, verdict: RegressionVerdict): string {
  const flaggedLayers = verdict.layers.filter((layer) => layer.regression);
  const layerName = (l: RegressionVerdict['layers'][number]) =>
    escapeTerminalText(`${l.model}/${l.layer}/${l.featureKind}${l.sae ? `@${l.sae}` : ''}`);
  return [
    formatComparisonText(comparison),
    `rule: ${verdict.rule} (${verdict.rule === 'significant' ? 'mean drop > max-drop and CI below 0' : 'whole CI below −max-drop'}), max-drop ${verdict.maxDrop}`,
    ...(flaggedLayers.length
      ? [
          `layers that regress by the same rule (information; the verdict is on all paired features): ${flaggedLayers.map((l) => `${layerName(l)} (Δ ${signed(l.meanDifference)})`).join(', ')}`,
        ]
      : []),
    `${verdict.regression ? 'REGRESSION' : 'PASS'}: ${verdict.scoreKind} ${fixed(verdict.baselineMean)} → ${fixed(verdict.candidateMean)}; ${verdict.reason}`,
  ].join('\n');
}

export function comparisonToJson(comparison: Comparison): unknown {
  return comparison;
}

export function regressionToJson(comparison: Comparison, verdict: RegressionVerdict): unknown {
  return {
    verdict: verdict.regression ? 'regression' : 'pass',
    exitCode: verdict.regression ? 1 : 0,
    ...verdict,
    comparison,
  };
}
