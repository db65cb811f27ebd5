/**
 * @module cli/score — `autointerp simulate` (expected activations per token) and `autointerp score` (scores) for a
 * given explanation of one feature, on its held-out records. Nothing is stored.
 */
import type { Command } from 'commander';
import { featureKey } from '../records/feature-key.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';
import { addSimulationCallOptions } from './shared-options.ts';

interface ScoreCommandOptions {
  records?: string;
  feature: string;
  explanation: string;
  model?: string;
  simulator: string;
  baseUrl?: string;
  simulatePrompt: string;
  recordsPerCall?: number | 'all';
  contextTokens?: number;
  json?: boolean;
}

function addScoringOptions(command: Command): Command {
  return addSimulationCallOptions(
    command
      .option('--records <path>', 'feature records (default: the embedded demo)')
      .requiredOption('--feature <key>', 'the feature, keyed model/layer/kind/index')
      .requiredOption(
        '--explanation <text>',
        'explanation to test: completes "the main thing this neuron does is find …"',
      )
      .option('--model <name>', 'subject model name for NeuronRecord files')
      .option(
        '--simulator <provider:model>',
        `baseline (offline; reads quoted tokens "the", word lists like wife, father, son, lexicon word classes such as nouns, and "after X"; other wording predicts 0), openai:<model>, openai-compatible:<model>, anthropic:<model>`,
        'baseline',
      ),
  ).option('--json', 'print JSON');
}

async function run(options: ScoreCommandOptions) {
  // Loaded when the command runs, so that `autointerp --help` and other commands start without the LLM SDKs.
  const [
    { createProvider },
    { loadSimulateTemplate },
    { scoreExplanation },
    { splitFeatureRecords },
    { selectFeatures },
    { contextTokensOf },
    { getEncoder },
  ] = await Promise.all([
    import('../llm/create-provider.ts'),
    import('../simulate/simulate-template.ts'),
    import('../pipeline/score-explanation.ts'),
    import('../records/splits.ts'),
    import('./select-features.ts'),
    import('../llm/context-windows.ts'),
    import('../llm/token-counter.ts'),
  ]);
  const [feature] = await selectFeatures(options.records, options);
  const encoder = await getEncoder();
  const simulator = createProvider(options.simulator, options.baseUrl ? { baseURL: options.baseUrl } : {});
  if (simulator.isBaseline) process.stderr.write('simulator: BASELINE (offline rule-based, not an LLM)\n');
  const scoring = await scoreExplanation(
    simulator,
    options.explanation,
    splitFeatureRecords(feature!),
    feature!.stats.maxActivation,
    {
      template: loadSimulateTemplate(options.simulatePrompt),
      // the same per-call protocol and context budget as a run's simulation (docs/DESIGN.md §4)
      ...(options.recordsPerCall !== undefined ? { recordsPerCall: options.recordsPerCall } : {}),
      budget: {
        contextTokens: options.contextTokens ?? contextTokensOf(simulator.id),
        countTokens: (text: string) => encoder.encode(text, 'all').length,
      },
    },
  );
  return { feature: feature!, scoring, simulator };
}

export function registerSimulateAndScoreCommands(program: Command): void {
  addScoringOptions(
    program
      .command('simulate')
      .description("simulate a feature's held-out records from an explanation (expected 0–10 values per token)"),
  ).action(async (options: ScoreCommandOptions) => {
    const { feature, scoring } = await run(options);
    const records = scoring.simulated.map((s, i) => ({
      split: s.split,
      source: s.source,
      tokens: s.record.tokens,
      real: s.record.activations,
      expected: scoring.simulation.records[i]!.expected,
    }));
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ feature: featureKey(feature.id), mode: scoring.simulation.mode, simulator: scoring.simulation.simulator, records })}\n`,
      );
      return;
    }
    for (const record of records) {
      process.stdout.write(`<${record.split} ${escapeTerminalText(record.source)}>\n`);
      record.tokens.forEach((token, i) => {
        const expected = record.expected[i];
        process.stdout.write(
          `${escapeTerminalText(JSON.stringify(token))}\t${expected === null || expected === undefined ? 'missing' : expected.toFixed(2)}\t(true ${record.real[i]!.toFixed(3)})\n`,
        );
      });
    }
  });

  addScoringOptions(program.command('score').description('simulate and score an explanation of one feature')).action(
    async (options: ScoreCommandOptions) => {
      const { feature, scoring } = await run(options);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ feature: featureKey(feature.id), explanation: options.explanation, mode: scoring.simulation.mode, simulator: scoring.simulation.simulator, scores: scoring.scores, calibration: scoring.calibration })}\n`,
        );
        return;
      }
      process.stdout.write(
        `${escapeTerminalText(`${featureKey(feature.id)} — "${options.explanation}" (${scoring.simulation.simulator}, ${scoring.simulation.mode})`)}\n`,
      );
      for (const score of scoring.scores) {
        process.stdout.write(
          `${score.kind.padEnd(20)} ${score.value === null ? `null (${escapeTerminalText(String(score.reason))})` : score.value.toFixed(4)}  n=${score.nTokens}${score.nMissing ? ` missing=${score.nMissing}` : ''}\n`,
        );
      }
    },
  );
}
