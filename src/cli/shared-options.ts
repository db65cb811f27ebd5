/** @module cli/shared-options — options several commands share, and opening the store they name. */
import { Command, Option } from 'commander';
import { openDatabase, resolveDatabasePath } from '../store/database.ts';
import { ResultStore } from '../store/result-store.ts';

export const databaseOption = () =>
  new Option('--db <path>', 'SQLite database file (default: $AUTOINTERP_DB, else ./autointerp.db)');

export function addProviderOptions(command: Command): Command {
  return command
    .option('--explainer <provider:model>', 'explainer: baseline (offline), openai:<model>, openai-compatible:<model>', 'baseline')
    .option('--simulator <provider:model>', 'simulator: baseline (offline), openai:<model>, openai-compatible:<model>', 'baseline')
    .option('--base-url <url>', 'base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (vLLM, llama.cpp, Ollama)');
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
