/** @module cli/shared-options — options several commands share, and opening the store they name. */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { openDatabase, resolveDatabasePath } from '../store/database.ts';
import { ResultStore } from '../store/result-store.ts';

export const databaseOption = () =>
  new Option('--db <path>', 'SQLite database file (default: $AUTOINTERP_DB, else ./autointerp.db)');

export function addProviderOptions(command: Command): Command {
  return command
    .option('--explainer <provider:model>', 'explainer: baseline (offline), openai:<model>, openai-compatible:<model>, anthropic:<model>', 'baseline')
    .option('--simulator <provider:model>', 'simulator: baseline (offline), openai:<model>, openai-compatible:<model>, anthropic:<model>', 'baseline')
    .option('--base-url <url>', 'base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, llama.cpp, Ollama)');
}

/** Flags of the reliability layer (limits, retries, cache, budget), as commander parses them. */
export interface ReliabilityFlags {
  rpm?: number;
  tpm?: number;
  maxRequests?: number;
  maxAttempts?: number;
  requestTimeoutMs?: number;
  cache: boolean;
  maxCost?: number;
  prices?: string;
}

export function addReliabilityOptions(command: Command): Command {
  return command
    .option('--rpm <n>', 'requests per minute to each API, explainer and simulator together (default: unlimited)', positiveNumber)
    .option('--tpm <n>', 'tokens per minute to each API (estimated before a call, corrected after)', positiveNumber)
    .option('--max-requests <n>', 'LLM requests in flight at once per API (default: bounded by --concurrency)', positiveInteger)
    .option('--max-attempts <n>', 'attempts per LLM call on 429, 5xx, timeouts and connection resets (default 5)', positiveInteger)
    .option('--request-timeout-ms <n>', 'timeout of one LLM request (default 120000)', positiveInteger)
    .option('--no-cache', 'do not answer repeated requests from the response cache in the database')
    .option('--max-cost <usd>', 'budget in USD: no new feature starts once the run has spent it', nonNegativeNumber)
    .option('--prices <file>', 'price table JSON merged over data/prices.json ({"prices": {"provider:model": {"inputPerMillion", "outputPerMillion"}}})');
}

/** The reliability options the user gave (on `--resume` only these replace the stored ones). */
export function reliabilityOverrides(flags: ReliabilityFlags, command: Command) {
  return {
    ...(flags.rpm !== undefined ? { requestsPerMinute: flags.rpm } : {}),
    ...(flags.tpm !== undefined ? { tokensPerMinute: flags.tpm } : {}),
    ...(flags.maxRequests !== undefined ? { requestConcurrency: flags.maxRequests } : {}),
    ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
    ...(flags.requestTimeoutMs !== undefined ? { requestTimeoutMs: flags.requestTimeoutMs } : {}),
    ...(command.getOptionValueSource('cache') === 'cli' ? { cache: flags.cache } : {}),
    ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
    ...(flags.prices !== undefined ? { prices: resolve(flags.prices) } : {}),
  };
}

/** Parses a positive number option value. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${value}"`);
  return n;
}

/** Parses a non-negative number option value. */
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got "${value}"`);
  return n;
}

export function openStore(databasePath: string | undefined): { store: ResultStore; path: string; close(): void } {
  const path = resolveDatabasePath(databasePath);
  const db = openDatabase(path);
  return { store: new ResultStore(db), path, close: () => db.close() };
}

/** Parses a positive integer option value (commander argParser). */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got "${value}"`);
  return n;
}
