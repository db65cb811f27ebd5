/**
 * @module common/prompt-file — reads a versioned prompt file of prompts/ (system text and few-shot examples as data),
 * checked against the stage's schema (explain/explain-template.ts, simulate/simulate-template.ts). A file is never
 * edited once used: a change is a new version, and the version is stored with every result.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { InputError } from './errors.ts';

export const promptsDirectory = fileURLToPath(new URL('../../prompts/', import.meta.url));

/** Loads `prompts/<nameOrPath>.json` (e.g. "explain.v1"), or the file at `nameOrPath` when it names a path. */
export function loadPromptFile<T>(schema: z.ZodType<T>, nameOrPath: string): T {
  const path = nameOrPath.includes('/') ? nameOrPath : `${promptsDirectory}${nameOrPath}.json`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`prompt template not found: ${path}`);
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new InputError(`prompt template ${path} is invalid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
