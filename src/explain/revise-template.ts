/**
 * @module explain/revise-template — the revision prompt file (prompts/revise.vN.json): the system text and how many
 * of the simulation's mistakes (and how many tokens of context around each) the revision prompt shows.
 */
import { z } from 'zod';
import { loadPromptFile } from '../common/prompt-file.ts';

export const ReviseTemplateSchema = z.object({
  version: z.string().min(1),
  system: z.string().min(1),
  /** Mistakes shown per direction (predicted high but silent; fired but predicted low). */
  maxErrorsShown: z.number().int().positive(),
  /** Tokens of context shown before each mistaken token. */
  contextTokens: z.number().int().nonnegative(),
});
export type ReviseTemplate = z.infer<typeof ReviseTemplateSchema>;

/** Loads `prompts/<version>.json` (default "revise.v1") or a template at an explicit path. */
export const loadReviseTemplate = (version = 'revise.v1'): ReviseTemplate =>
  loadPromptFile(ReviseTemplateSchema, version);
