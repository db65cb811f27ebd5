/**
 * @module cli/serve-fake — `autointerp serve-fake`: runs the offline fake OpenAI-compatible server (a test double
 * answering from the rule-based model, not a real model) on 127.0.0.1 until SIGINT or SIGTERM.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseFaultMix, type FaultMix } from '../llm/fake-server/fault-injection.ts';
import { untilStopSignal } from './until-stop-signal.ts';

/** Default port of the command (the library default is 0, an ephemeral port). */
export const defaultServeFakePort = 8787;

interface ServeFakeFlags {
  port: number;
  latencyMs: number;
  lexicon?: string;
  faults?: FaultMix;
  faultSeed: number;
  retryAfterMs: number;
  batchPolls: number;
  batchItemErrors: number;
  batchItemExpired: number;
  mixedExplanations?: string;
  mixedExplanationsRecords?: string;
}

function fraction(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0 || number > 1)
      throw new InvalidArgumentError(`${name} must be a fraction between 0 and 1`);
    return number;
  };
}

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return number;
  };
}

function faultMixOption(value: string): FaultMix {
  try {
    return parseFaultMix(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Adds `serve-fake [--port N] [--latency-ms N] [--lexicon FILE] [--faults MIX] [--fault-seed N] [--retry-after-ms N]
 * [--batch-polls N] [--batch-item-errors F] [--batch-item-expired F] [--mixed-explanations FILE
 * [--mixed-explanations-records FILE]]`.
 */
export function registerServeFakeCommand(program: Command): Command {
  return program
    .command('serve-fake')
    .description(
      'run the offline fake OpenAI-compatible / Anthropic LLM server with both Batch APIs (a test double, not a real model) on 127.0.0.1',
    )
    .option('--port <n>', 'TCP port (0 picks a free one)', nonNegativeInteger('--port'), defaultServeFakePort)
    .option('--latency-ms <n>', 'delay before each answer, in milliseconds', nonNegativeInteger('--latency-ms'), 0)
    .option('--lexicon <file>', 'concept lexicon JSON (default: the bundled data/lexicon/concepts.json)')
    .option(
      '--faults <mix>',
      'fault fractions of model requests, e.g. 429=0.1,500=0.05,hang=0.02,malformed=0.02,truncated=0.01,nologprobs=0.01',
      faultMixOption,
    )
    .option(
      '--fault-seed <n>',
      'seed of the fault draws (same seed, same faults)',
      nonNegativeInteger('--fault-seed'),
      1,
    )
    .option(
      '--retry-after-ms <n>',
      'Retry-After of injected 429s, in milliseconds',
      nonNegativeInteger('--retry-after-ms'),
      1000,
    )
    .option('--batch-polls <n>', 'Batch APIs: polls of a batch before it ends', nonNegativeInteger('--batch-polls'), 2)
    .option(
      '--batch-item-errors <fraction>',
      'Batch APIs: fraction of batched requests that error (seeded by --fault-seed)',
      fraction('--batch-item-errors'),
      0,
    )
    .option(
      '--batch-item-expired <fraction>',
      'Batch APIs: fraction of batched requests that expire',
      fraction('--batch-item-expired'),
      0,
    )
    .option(
      '--mixed-explanations <ground-truth.json>',
      'answer explain requests with true, partial or wrong explanations from this ground truth (a best-of-n test double)',
    )
    .option(
      '--mixed-explanations-records <file.jsonl>',
      'the feature records that identify the feature an explain prompt shows (default: the demo planted records)',
    )
    .action(async (flags: ServeFakeFlags) => {
      // Loaded when the command runs, so that other commands start without the fake server and its tokenizer.
      const { startFakeLlmServer } = await import('../llm/fake-server/fake-llm-server.ts');
      const mixedExplanations = flags.mixedExplanations
        ? (await import('../llm/fake-server/mixed-explanations.ts')).loadMixedExplanations(
            flags.mixedExplanations,
            flags.mixedExplanationsRecords ?? (await import('../pipeline/config.ts')).demoPlantedPath,
            flags.faultSeed,
          )
        : undefined;
      const server = await startFakeLlmServer({
        ...(mixedExplanations ? { mixedExplanations } : {}),
        port: flags.port,
        latencyMs: flags.latencyMs,
        ...(flags.lexicon ? { lexiconPath: flags.lexicon } : {}),
        ...(flags.faults
          ? { faults: { mix: flags.faults, seed: flags.faultSeed, retryAfterMs: flags.retryAfterMs } }
          : {}),
        batch: {
          pollsUntilDone: flags.batchPolls,
          itemErrorRate: flags.batchItemErrors,
          itemExpiredRate: flags.batchItemExpired,
          seed: flags.faultSeed,
        },
      });
      process.stdout.write(`fake LLM server (offline test double, not a real model) listening on ${server.url}\n`);
      if (flags.mixedExplanations)
        process.stdout.write(`explain answers: true, partial or wrong explanations from ${flags.mixedExplanations}\n`);
      if (flags.faults)
        process.stdout.write(`injecting faults ${JSON.stringify(flags.faults)} (seed ${flags.faultSeed})\n`);
      await untilStopSignal();
      await server.close();
      process.stdout.write('fake LLM server stopped\n');
    });
}
