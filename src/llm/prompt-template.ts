/**
 * @module llm/prompt-template — versioned prompt files in prompts/ (system text and few-shot examples as data).
 * A file is never edited once used: a change is a new version, and the version is stored with every result.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ActivationRecordSchema } from '../records/types.ts';

export const promptsDirectory = fileURLToPath(new URL('../../prompts/', import.meta.url));

export const ExplainTemplateSchema = z.object({
  version: z.string().min(1),
  system: z.string(),
  examples: z.array(z.object({ records: z.array(ActivationRecordSchema).min(1), explanation: z.string().min(1) })),
});
export type ExplainTemplate = z.infer<typeof ExplainTemplateSchema>;

export const SimulateTemplateSchema = z.object({
  version: z.string().min(1),
  system: z.string(),
  examples: z.array(
    z
      .object({
        records: z.array(ActivationRecordSchema).min(1),
        explanation: z.string().min(1),
        /** Per record: values before this position are shown as "unknown", as the reference's few-shot examples. */
        firstRevealedIndices: z.array(z.number().int().nonnegative()),
      })
      .refine((e) => e.firstRevealedIndices.length === e.records.length, {
        message: 'firstRevealedIndices needs one entry per record',
      }),
  ),
});
export type SimulateTemplate = z.infer<typeof SimulateTemplateSchema>;

function loadTemplate<T>(schema: z.ZodType<T>, nameOrPath: string): T {
  const path = nameOrPath.includes('/') ? nameOrPath : `${promptsDirectory}${nameOrPath}.json`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`prompt template not found: ${path}`);
  }
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`prompt template ${path} is invalid: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Loads `prompts/<version>.json` (e.g. "explain.v1") or a template at an explicit path. */
export const loadExplainTemplate = (version = 'explain.v1'): ExplainTemplate =>
  loadTemplate(ExplainTemplateSchema, version);
export const loadSimulateTemplate = (version = 'simulate.v1'): SimulateTemplate =>
  loadTemplate(SimulateTemplateSchema, version);
