/**
 * @module subject/brown-tags — Brown corpus part-of-speech tags taken apart (`np$-tl` → base tag "np", possessive,
 * title). Used to label tokens of the corpus sample and to find neurons that track a word class.
 */

/** A Brown tag taken apart: `np$-tl` → parts ["np"], possessive, title. */
export interface BrownTag {
  /** The tag as written, lower case. */
  raw: string;
  /** Base tags, without prefixes (fw-), suffixes (-tl, -hl, -nc), possessive `$` or negation `*`; "+" splits. */
  parts: readonly string[];
  /** A `*` (negation) in the tag: "not" is tagged `*`, "didn't" `dod*`. */
  negated: boolean;
  /** Part of a title (`-tl`). */
  title: boolean;
  /** Part of a headline (`-hl`). */
  headline: boolean;
  /** A foreign word (`fw-` prefix): it belongs to no English word class. */
  foreign: boolean;
}

export function parseBrownTag(rawTag: string): BrownTag {
  const raw = rawTag.toLowerCase();
  const foreign = raw.startsWith('fw-');
  let rest = foreign ? raw.slice(3) : raw;
  const title = /-tl(?:-|$)/.test(rest);
  const headline = /-hl(?:-|$)/.test(rest);
  // Suffixes come after the first "-" that is not part of the punctuation tag "--".
  rest = rest === '--' ? rest : rest.replace(/-(?:tl|hl|nc)(?=-|$)/g, '');
  const negated = rest.includes('*');
  const parts = rest
    .split('+')
    .map((part) => (part === '*' ? '*' : part.replace(/\*/g, '').replace(/\$+$/, '')))
    .filter((part) => part.length > 0);
  return { raw, parts, negated, title, headline, foreign };
}
