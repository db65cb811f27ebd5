/** @module cli/explain — `autointerp explain`: explanations only, printed as `feature<TAB>explanation` (or JSONL). */
import type { Command } from 'commander';
import { featureKey } from '../records/feature-key.ts';
import { escapeTerminalText } from '../report/terminal-text.ts';
import { positiveInteger } from './shared-options.ts';

export function registerExplainCommand(program: Command): void {
  program
    .command('explain')
    .description('explain features from their top records (no scoring, nothing stored)')
    .option('--records <path>', 'feature records (default: the embedded demo)')
    .option('--feature <key>', 'one feature, keyed model/layer/kind/index')
    .option('--limit <n>', 'only the first N features', positiveInteger)
    .option('--model <name>', 'subject model name for NeuronRecord files')
    .option(
      '--explainer <provider:model>',
      'baseline (offline), openai:<model>, openai-compatible:<model>, anthropic:<model>',
      'baseline',
    )
    .option('--base-url <url>', 'base URL of an OpenAI-compatible server')
    .option('--explain-prompt <version>', 'explain prompt version', 'explain.v1')
    .option('--explain-top <n>', 'top records shown to the explainer', positiveInteger, 10)
    .option('--json', 'print JSON lines')
    .action(
      async (options: {
        records?: string;
        feature?: string;
        limit?: number;
        model?: string;
        explainer: string;
        baseUrl?: string;
        explainPrompt: string;
        explainTop: number;
        json?: boolean;
      }) => {
        // Loaded when the command runs, so that `autointerp --help` and other commands start without the LLM SDKs.
        const [
          { createProvider },
          { explainRecords },
          { loadExplainTemplate },
          { splitFeatureRecords },
          { selectFeatures },
        ] = await Promise.all([
          import('../llm/create-provider.ts'),
          import('../pipeline/explain-records.ts'),
          import('../explain/explain-template.ts'),
          import('../records/splits.ts'),
          import('./select-features.ts'),
        ]);
        const features = await selectFeatures(options.records, options);
        const explainer = createProvider(options.explainer, options.baseUrl ? { baseURL: options.baseUrl } : {});
        const template = loadExplainTemplate(options.explainPrompt);
        if (explainer.isBaseline) process.stderr.write('explainer: BASELINE (offline rule-based, not an LLM)\n');
        for (const feature of features) {
          const explainSet = splitFeatureRecords(feature, { explainTop: options.explainTop }).filter(
            (s) => s.split === 'explain',
          );
          const key = featureKey(feature.id);
          if (explainSet.length === 0 || feature.stats.maxActivation <= 0) {
            process.stdout.write(
              options.json
                ? `${JSON.stringify({ feature: key, explanation: null, reason: 'feature never activates' })}\n`
                : `${escapeTerminalText(key)}\t(never activates)\n`,
            );
            continue;
          }
          const { explanation, promptVersion } = await explainRecords(
            explainer,
            explainSet.map((s) => s.record),
            { template },
          );
          process.stdout.write(
            options.json
              ? `${JSON.stringify({ feature: key, explanation, explainer: explainer.id, promptVersion, baseline: explainer.isBaseline })}\n`
              : `${escapeTerminalText(key)}\t${escapeTerminalText(explanation)}\n`,
          );
        }
      },
    );
}
