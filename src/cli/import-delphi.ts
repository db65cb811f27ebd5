/**
 * @module cli/import-delphi — `autointerp import-delphi <dir>`: feature records (JSONL, for `autointerp run
 * --records`) from an EleutherAI delphi latent cache (sae/delphi-cache). Exit codes: 0 done, 2 usage or data error.
 */
import type { Command } from 'commander';
import { UsageError } from './errors.ts';
import { positiveInteger } from './shared-options.ts';

interface ImportDelphiFlags {
  out: string;
  hookpoint?: string;
  latents: string;
  model?: string;
  sae?: string;
  tokenizer?: string;
  window?: number;
  topK?: number;
  random?: number;
  seed?: number;
}

export function registerImportDelphiCommand(program: Command): void {
  program
    .command('import-delphi')
    .description('feature records (JSONL for `autointerp run --records`) from an EleutherAI delphi latent cache')
    .argument(
      '<dir>',
      'the cache: a run folder (config.json + one folder per hookpoint) or a hookpoint folder of <start>_<end>.safetensors splits',
    )
    .requiredOption('--out <file.jsonl>', 'records file to write')
    .option('--hookpoint <name>', 'the hookpoint folder to read (needed when the run folder holds several)')
    .option('--latents <list>', 'latents: all, or e.g. 0-99 or 3,7,10-12', 'all')
    .option('--model <name>', 'subject model name in the feature ids (default: config.json model_name)')
    .option('--sae <name>', 'SAE name in the feature ids (default: the hookpoint)')
    .option(
      '--tokenizer <dir>',
      "folder with the model's tokenizer.json (or vocab.json + merges.txt), for readable tokens",
    )
    .option('--window <n>', 'window length in tokens (default 64, within each cached sequence)', positiveInteger)
    .option('--top-k <n>', 'top windows per latent (default 30)', positiveInteger)
    .option('--random <n>', 'random windows per latent (default 30)', positiveInteger)
    .option('--seed <n>', 'sampling seed', (value) => Number.parseInt(value, 10))
    .action(async (directory: string, flags: ImportDelphiFlags) => {
      const [{ readDelphiLatentCache }, { parseFeatureList }, { writeFeatureRecordsJsonl }, tokenizers] =
        await Promise.all([
          import('../sae/delphi-cache.ts'),
          import('../subject/feature-list.ts'),
          import('../records/jsonl.ts'),
          import('../subject/tokenizer.ts'),
        ]);
      let latents: number[] | 'all';
      try {
        latents = parseFeatureList(flags.latents, Number.POSITIVE_INFINITY);
      } catch (error) {
        throw new UsageError(`--latents: ${(error as Error).message}`, { cause: error });
      }
      const tokenizer = flags.tokenizer ? tokenizers.loadTokenizer(flags.tokenizer) : null;
      const result = readDelphiLatentCache(directory, {
        latents,
        ...(flags.hookpoint ? { hookpoint: flags.hookpoint } : {}),
        ...(flags.model ? { model: flags.model } : {}),
        ...(flags.sae ? { sae: flags.sae } : {}),
        ...(tokenizer ? { tokenStrings: (ids: readonly number[]) => tokenizer.tokenStrings(ids) } : {}),
        ...(flags.window !== undefined ? { windowSize: flags.window } : {}),
        ...(flags.topK !== undefined ? { topK: flags.topK } : {}),
        ...(flags.random !== undefined ? { randomCount: flags.random } : {}),
        ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
      });
      for (const warning of result.warnings) process.stderr.write(`note: ${warning}\n`);
      await writeFeatureRecordsJsonl(flags.out, result.records);
      process.stderr.write(
        `records: ${result.records.length} latents of ${result.hookpoint} (of ${result.latents}; ${result.sequences} sequences × ${result.contextLength} tokens) → ${flags.out}\n`,
      );
    });
}
