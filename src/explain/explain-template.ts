/**
 * @module explain/explain-template — the explain prompt file (prompts/explain.vN.json): system text and few-shot
 * examples of records with their explanation.
 */
import { z } from 'zod';
import { loadPromptFile } from '../common/prompt-file.ts';
import { ActivationRecordSchema } from '../records/types.ts';

export const ExplainTemplateSchema = z.object({
  version: z.string().min(1),
  system: z.string(),
  examples: z.array(z.object({ records: z.array(ActivationRecordSchema).min(1), explanation: z.string().min(1) })),
});
export type ExplainTemplate = z.infer<typeof ExplainTemplateSchema>;

/** Loads `prompts/<version>.json` (e.g. "explain.v1") or a template at an explicit path. */
export const loadExplainTemplate = (version = 'explain.v1'): ExplainTemplate =>
  loadPromptFile(ExplainTemplateSchema, version);
