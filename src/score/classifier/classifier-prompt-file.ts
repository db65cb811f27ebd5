/**
 * @module score/classifier/classifier-prompt-file — the detection and fuzzing prompt files (prompts/detection.vN.json,
 * prompts/fuzzing.vN.json): the system text and few-shot examples (an explanation, example texts as the judge
 * reads them, the right labels).
 */
import { z } from 'zod';
import { loadPromptFile } from '../../common/prompt-file.ts';

export const ClassifierPromptFileSchema = z.object({
  version: z.string().min(1),
  system: z.string().min(1),
  examples: z.array(
    z
      .object({
        explanation: z.string().min(1),
        texts: z.array(z.string().min(1)).min(1),
        labels: z.array(z.union([z.literal(0), z.literal(1)])),
      })
      .refine((example) => example.labels.length === example.texts.length, {
        message: 'each few-shot example needs one label per text',
      }),
  ),
});
export type ClassifierPromptFile = z.infer<typeof ClassifierPromptFileSchema>;

/** Loads `prompts/<version>.json` (e.g. "detection.v1") or a prompt file at an explicit path. */
export const loadClassifierPromptFile = (version: string): ClassifierPromptFile =>
  loadPromptFile(ClassifierPromptFileSchema, version);
