/**
 * @module simulate/simulate-template — the simulation prompt file (prompts/simulate.vN.json): system text and
 * few-shot examples of records, their explanation and where each starts to be revealed.
 */
import { z } from 'zod';
import { loadPromptFile } from '../common/prompt-file.ts';
import { ActivationRecordSchema } from '../records/types.ts';

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

/** Loads `prompts/<version>.json` (e.g. "simulate.v1") or a template at an explicit path. */
export const loadSimulateTemplate = (version = 'simulate.v1'): SimulateTemplate =>
  loadPromptFile(SimulateTemplateSchema, version);
