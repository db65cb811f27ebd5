/**
 * @module score/intervention/intervention-template — the intervention prompt file (prompts/intervention.vN.json): the
 * judge's system text and few-shot example, and the generation it judges (the neutral prompts, how many tokens each
 * continuation has, the clamp strengths). Everything that changes the score's meaning lives in the file, so the
 * stored prompt version names the whole experiment.
 */
import { z } from 'zod';
import { loadPromptFile } from '../../common/prompt-file.ts';

const JudgedTextSchema = z.object({ prompt: z.string().min(1), continuation: z.string() });
export type JudgedText = z.infer<typeof JudgedTextSchema>;

export const InterventionTemplateSchema = z.object({
  version: z.string().min(1),
  system: z.string().min(1),
  generation: z.object({
    /** Neutral sentence starts, continued with and without the clamp. */
    prompts: z.array(z.string().min(1)).min(1),
    /** Tokens generated per continuation (greedy). */
    maxNewTokens: z.number().int().positive(),
    /** Clamp values as multiples of the feature's max activation over its corpus. */
    strengths: z.array(z.number().positive()).min(1),
  }),
  examples: z.array(
    z
      .object({
        explanation: z.string().min(1),
        texts: z.array(JudgedTextSchema).min(1),
        answer: z.array(z.union([z.literal(0), z.literal(1)])),
      })
      .refine((example) => example.answer.length === example.texts.length, {
        message: 'an example needs one answer per text',
      }),
  ),
});
export type InterventionTemplate = z.infer<typeof InterventionTemplateSchema>;

/** Loads `prompts/<version>.json` (e.g. "intervention.v1") or a template at an explicit path. */
export const loadInterventionTemplate = (version = 'intervention.v1'): InterventionTemplate =>
  loadPromptFile(InterventionTemplateSchema, version);
