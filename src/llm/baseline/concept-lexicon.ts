/**
 * @module llm/baseline/concept-lexicon — general word-class knowledge for the offline rule-based model (baseline and fake
 * server): which words are determiners, past-tense verbs, numbers… with a weight = P(class | word) estimated from
 * the POS tags of the Brown corpus. This is what an LLM simulator "knows" about English; it holds no planted
 * ground truth. File: data/lexicon/concepts.json, built by scripts/build-demo-dataset.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const ConceptSchema = z.object({
  /** Canonical name, e.g. "determiners". */
  name: z.string().min(1),
  /** Phrases that name this concept in an explanation, lower case, e.g. ["determiner", "determiners", "articles"]. */
  aliases: z.array(z.string().min(1)).min(1),
  /** Lower-cased, whitespace-trimmed word → weight in [0, 1] (P(class | word)). */
  weights: z.record(z.string(), z.number().min(0).max(1)).default({}),
  /** Optional regular expression (JS syntax, tested on the trimmed token) that also matches with weight 1. */
  pattern: z.string().optional(),
});
export type Concept = z.infer<typeof ConceptSchema>;

export const ConceptLexiconSchema = z.object({
  version: z.literal(1),
  source: z.string(),
  concepts: z.array(ConceptSchema),
});
export type ConceptLexicon = z.infer<typeof ConceptLexiconSchema>;

export const defaultLexiconPath = fileURLToPath(new URL('../../../data/lexicon/concepts.json', import.meta.url));

let cached: ConceptLexicon | undefined;

/** Loads and validates a lexicon file (the bundled one by default; cached). */
export function loadConceptLexicon(path: string = defaultLexiconPath): ConceptLexicon {
  if (path === defaultLexiconPath && cached) return cached;
  const lexicon = ConceptLexiconSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  if (path === defaultLexiconPath) cached = lexicon;
  return lexicon;
}
