/**
 * @module llm/baseline/interpret-explanation — reads an explanation ("the tokens "the" and "a"", "past tense verbs",
 * "nouns after "the"") and turns it into a token predictor on the 0–10 prompt scale. The language it understands:
 *   1. quoted tokens ("the", 'of', “the”, ‘x’) → weight 1 on tokens equal to them (lower-cased, trimmed);
 *   2. an alias phrase of a lexicon concept → the concept's `weights[token]`, or 1 where its `pattern` matches;
 *      overlapping aliases: the longest wins ("past tense verbs" over "verbs"); an alias right before a quoted token
 *      labels it and names nothing more ("the verb "is"" is the token "is");
 *   3. an unquoted list of single words where it cannot be prose: three or more joined by commas ("wife, father,
 *      son", "the, a and an"), or two or more right after "like", "such as", "e.g.", "including", "especially",
 *      "namely" or a colon ("relatives like wife and son") → weight 1 on tokens equal to each word, as if quoted.
 *      A lone unquoted word, or two without such a cue ("cats and dogs"), stays unread (it could be prose);
 *   4. a context "after X" / "following X" / "preceded by X" → what its sentence (or `;` clause) names only counts
 *      where the PREVIOUS token matches X (the gate multiplies by the previous token's weight); with nothing else
 *      named in that sentence, any token after X.
 * Several things named → their union (max weight over clauses and matchers). Prediction = 10 × weight; nothing
 * recognised → 0 everywhere (a description in other words, "family members", predicts nothing).
 * Pure: the lexicon is a parameter (default: the bundled one, loaded on first use).
 */
import type { Concept, ConceptLexicon } from './concept-lexicon.ts';
import { loadConceptLexicon } from './concept-lexicon.ts';

/** Predicted activation of `tokens[index]` on the prompt scale 0–10. */
export type TokenPredictor = (tokens: readonly string[], index: number) => number;

/** One thing an explanation names. */
export interface TokenMatcher {
  kind: 'quoted-token' | 'listed-word' | 'concept';
  /** The normalized quoted token or listed word, or the concept's name. */
  label: string;
  /** Weight in [0, 1] of a token (raw; the matcher normalizes it). */
  weightOf(token: string): number;
}

/** One sentence (or `;`-separated clause) of an explanation: what it names and the context gate it sets. */
export interface ExplanationClause {
  /** What activates (union). Empty while `context` is not: any token after the context. */
  targets: TokenMatcher[];
  /** The previous token must match one of these; empty when the clause names no context. */
  context: TokenMatcher[];
}

export interface ExplanationInterpretation {
  /** Clauses that named something; the prediction is the max over them. */
  clauses: ExplanationClause[];
  /** All targets of all clauses (for display). */
  targets: TokenMatcher[];
  /** All context matchers of all clauses (for display). */
  context: TokenMatcher[];
  /** False when nothing was recognised (the predictor then returns 0 everywhere). */
  recognized: boolean;
  predict: TokenPredictor;
}

export interface InterpretExplanationOptions {
  /** Word-class knowledge. Default: the bundled lexicon (data/lexicon/concepts.json), loaded on first use. */
  lexicon?: ConceptLexicon;
}

/** Lower-cased, whitespace-trimmed token: the form tokens are compared in. */
export function normalizeToken(token: string): string {
  return token.trim().toLowerCase();
}

interface NamedItem {
  start: number;
  end: number;
  matcher: TokenMatcher;
}

interface CompiledAlias {
  pattern: RegExp;
  /** The alias's first word, lower-cased: a text without it (compared lower-cased, ASCII texts only) has no match. */
  firstWord: string;
  matcher: TokenMatcher;
}

/** Quote styles, tried in order; each pass masks what it found so the next cannot overlap it. */
const quotePatterns: readonly RegExp[] = [
  /"([^"\n]*)"/g,
  /“([^”\n]*)”/g,
  /‘([^’\n]*)’/g,
  // Plain single quotes only where they cannot be apostrophes (not inside a word).
  /(?<![\p{L}\p{N}_])'([^'\n]+?)'(?![\p{L}\p{N}_])/gu,
];

/** Context keywords; "following" is not one in "the following …". */
const contextKeywordPattern = /(?<![\p{L}\p{N}])(?:after|preceded by|(?<!the\s+)following)(?![\p{L}\p{N}])/iu;
/** Clause boundaries: a sentence end or a semicolon (quoted text is masked before this is applied). */
const clauseEndPattern = /;|\.(?=\s|$)/g;

const compiledAliases = new WeakMap<ConceptLexicon, CompiledAlias[]>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compilePattern(pattern: string, conceptName: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    try {
      return new RegExp(pattern);
    } catch (error) {
      throw new Error(`concept "${conceptName}": invalid pattern ${JSON.stringify(pattern)}`, { cause: error });
    }
  }
}

/** How strongly a token belongs to a concept: its lexicon weight, or 1 where the concept's pattern matches. */
export function conceptMatcher(concept: Concept): TokenMatcher {
  const pattern = concept.pattern === undefined ? undefined : compilePattern(concept.pattern, concept.name);
  return {
    kind: 'concept',
    label: concept.name,
    weightOf(token: string): number {
      const fromWeights = concept.weights[normalizeToken(token)] ?? 0;
      const fromPattern = pattern?.test(token.trim()) ? 1 : 0;
      return Math.max(fromWeights, fromPattern);
    },
  };
}

function quotedMatcher(quoted: string, kind: 'quoted-token' | 'listed-word' = 'quoted-token'): TokenMatcher {
  const label = normalizeToken(quoted);
  return {
    kind,
    label,
    weightOf: (token: string) => (normalizeToken(token) === label ? 1 : 0),
  };
}

/** One regex per alias (word-bounded, optional plural "s"/"es", spaces and hyphens interchangeable); cached. */
function aliasesOf(lexicon: ConceptLexicon): CompiledAlias[] {
  let aliases = compiledAliases.get(lexicon);
  if (aliases) return aliases;
  aliases = [];
  for (const concept of lexicon.concepts) {
    const matcher = conceptMatcher(concept);
    for (const alias of concept.aliases) {
      const words = alias
        .trim()
        .toLowerCase()
        .split(/[\s-]+/)
        .filter((word) => word.length > 0);
      if (words.length === 0) continue;
      const body = words.map(escapeRegExp).join('[\\s-]+');
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${body}(?:e?s)?(?![\\p{L}\\p{N}])`, 'giu');
      aliases.push({ pattern, firstWord: words[0]!, matcher });
    }
  }
  compiledAliases.set(lexicon, aliases);
  return aliases;
}

function maskSpan(text: string, start: number, end: number): string {
  return text.slice(0, start) + ' '.repeat(end - start) + text.slice(end);
}

/** Quoted tokens, in text order, and the text with them blanked out. */
function findQuotedTokens(explanation: string): { items: NamedItem[]; masked: string } {
  let masked = explanation;
  const items: NamedItem[] = [];
  for (const pattern of quotePatterns) {
    for (const match of [...masked.matchAll(pattern)]) {
      const start = match.index;
      const end = start + match[0].length;
      items.push({ start, end, matcher: quotedMatcher(match[1] ?? '') });
      masked = maskSpan(masked, start, end);
    }
  }
  return { items, masked };
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/**
 * Whether an alias cannot occur in the text, told without its regex. Exact for ASCII text only: there, a
 * case-insensitive match of the alias's first word is the lower-cased word in the lower-cased text, as no character of
 * a lower-cased alias but "ſ" (which matches "s") folds to an ASCII letter it is not; other text: never skipped.
 */
function cannotOccur(alias: CompiledAlias, loweredAsciiText: string | null): boolean {
  return loweredAsciiText !== null && !alias.firstWord.includes('ſ') && !loweredAsciiText.includes(alias.firstWord);
}

/** Concept alias occurrences in (quote-masked) text; longest first, overlaps dropped. */
function findConcepts(masked: string, lexicon: ConceptLexicon): NamedItem[] {
  const candidates: NamedItem[] = [];
  const loweredAsciiText = isAscii(masked) ? masked.toLowerCase() : null;
  for (const alias of aliasesOf(lexicon)) {
    if (cannotOccur(alias, loweredAsciiText)) continue;
    for (const match of masked.matchAll(alias.pattern)) {
      candidates.push({ start: match.index, end: match.index + match[0].length, matcher: alias.matcher });
    }
  }
  candidates.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const accepted: NamedItem[] = [];
  for (const candidate of candidates) {
    if (accepted.some((item) => candidate.start < item.end && item.start < candidate.end)) continue;
    accepted.push(candidate);
  }
  return accepted.sort((a, b) => a.start - b.start);
}

/**
 * A concept alias followed by nothing but spaces and then a quoted token is that token's label, not a second thing
 * named: "the verb "is"" means the token "is", not every verb ("verbs like "is"" still names the class).
 */
function labelsQuotedToken(concept: NamedItem, quotedItems: readonly NamedItem[], masked: string): boolean {
  return quotedItems.some(
    (quoted) => quoted.start >= concept.end && masked.slice(concept.end, quoted.start).trim() === '',
  );
}

/** A single word of an unquoted list (letters or digits, inner apostrophes and hyphens); never "and" / "or". */
const listWord = String.raw`(?<![\p{L}\p{N}'’-])(?!(?:and|or)(?![\p{L}\p{N}]))[\p{L}\p{N}](?:[\p{L}\p{N}'’-]*[\p{L}\p{N}])?`;
/** Between list words: a comma (with an optional "and" / "or" after it), or "and" / "or" alone. */
const listSeparator = String.raw`(?:\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+)`;
const listPattern = new RegExp(String.raw`${listWord}(?:${listSeparator}${listWord})+(?![\p{L}\p{N}'’-])`, 'giu');
const listWordPattern = new RegExp(listWord, 'giu');
/** Words that announce examples: after one of these, two listed words are a list. */
const listCuePattern = /(?:(?<![\p{L}\p{N}])(?:like|such\s+as|e\.g\.,?|including|especially|namely)|:)\s*$/iu;

/**
 * Unquoted word lists (rule 3 of the module comment) in `explanation`, outside the spans already read (`taken`:
 * quoted tokens and concept aliases, which end a list).
 */
function findWordLists(explanation: string, taken: readonly NamedItem[]): NamedItem[] {
  let text = explanation;
  for (const item of taken)
    text = text.slice(0, item.start) + '\u0001'.repeat(item.end - item.start) + text.slice(item.end);
  const items: NamedItem[] = [];
  for (const match of text.matchAll(listPattern)) {
    const words = [...match[0].matchAll(listWordPattern)];
    const commas = (match[0].match(/,/g) ?? []).length;
    const cued = listCuePattern.test(text.slice(0, match.index));
    if (!(cued || (words.length >= 3 && commas >= 1))) continue;
    for (const word of words) {
      const start = match.index + word.index;
      items.push({ start, end: start + word[0].length, matcher: quotedMatcher(word[0], 'listed-word') });
    }
  }
  return items;
}

/** Keeps the first matcher of each kind + label. */
function uniqueMatchers(matchers: readonly TokenMatcher[]): TokenMatcher[] {
  const seen = new Set<string>();
  const unique: TokenMatcher[] = [];
  for (const matcher of matchers) {
    const key = `${matcher.kind}:${matcher.label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(matcher);
  }
  return unique;
}

function maxWeight(matchers: readonly TokenMatcher[], token: string): number {
  let best = 0;
  for (const matcher of matchers) best = Math.max(best, matcher.weightOf(token));
  return best;
}

/** Clause ranges [start, end) of the (quote-masked) text. */
function clauseRanges(masked: string): Array<{ start: number; end: number }> {
  const ranges: Array<{ start: number; end: number }> = [];
  let start = 0;
  for (const match of masked.matchAll(clauseEndPattern)) {
    ranges.push({ start, end: match.index });
    start = match.index + match[0].length;
  }
  ranges.push({ start, end: masked.length });
  return ranges;
}

/** Predicted activation of one clause, 0–10. */
function predictClause(clause: ExplanationClause, tokens: readonly string[], index: number): number {
  const token = tokens[index];
  if (token === undefined) return 0;
  const { targets, context } = clause;
  const targetWeight = targets.length > 0 ? maxWeight(targets, token) : context.length > 0 ? 1 : 0;
  if (targetWeight === 0 || context.length === 0) return 10 * targetWeight;
  const previous = index > 0 ? tokens[index - 1] : undefined;
  const gate = previous === undefined ? 0 : maxWeight(context, previous);
  return 10 * targetWeight * gate;
}

/** Explanations read per lexicon, kept (up to a bound) because the baseline reads the same one on every call. */
const INTERPRETATION_CACHE_LIMIT = 4096;
const interpretations = new WeakMap<ConceptLexicon, Map<string, ExplanationInterpretation>>();

/**
 * Reads an explanation into clauses (targets and a context gate each) and a predictor. Reading is pure (the text and
 * the lexicon decide it): a simulator calls this for the same explanation on every call of a feature, so the reading
 * is kept per lexicon and explanation (a bounded cache, emptied when full); each call gets its own arrays.
 */
export function interpretExplanation(
  explanation: string,
  options: InterpretExplanationOptions = {},
): ExplanationInterpretation {
  const lexicon = options.lexicon ?? loadConceptLexicon();
  let cache = interpretations.get(lexicon);
  if (!cache) {
    cache = new Map();
    interpretations.set(lexicon, cache);
  }
  let reading = cache.get(explanation);
  if (!reading) {
    if (cache.size >= INTERPRETATION_CACHE_LIMIT) cache.clear();
    reading = readExplanation(explanation, lexicon);
    cache.set(explanation, reading);
  }
  return {
    ...reading,
    clauses: reading.clauses.map((clause) => ({ targets: [...clause.targets], context: [...clause.context] })),
    targets: [...reading.targets],
    context: [...reading.context],
  };
}

function readExplanation(explanation: string, lexicon: ConceptLexicon): ExplanationInterpretation {
  const { items: quotedItems, masked } = findQuotedTokens(explanation);
  const concepts = findConcepts(masked, lexicon).filter((concept) => !labelsQuotedToken(concept, quotedItems, masked));
  const namedItems = [...quotedItems, ...concepts];
  const items = [...namedItems, ...findWordLists(explanation, namedItems)].sort((a, b) => a.start - b.start);

  const clauses: ExplanationClause[] = [];
  for (const range of clauseRanges(masked)) {
    const inRange = items.filter((item) => item.start >= range.start && item.start < range.end);
    if (inRange.length === 0) continue;
    // The context runs from its keyword to the end of the clause.
    const keyword = contextKeywordPattern.exec(masked.slice(range.start, range.end));
    const contextStart = keyword ? range.start + keyword.index + keyword[0].length : Number.POSITIVE_INFINITY;
    clauses.push({
      targets: uniqueMatchers(inRange.filter((item) => item.start < contextStart).map((item) => item.matcher)),
      context: uniqueMatchers(inRange.filter((item) => item.start >= contextStart).map((item) => item.matcher)),
    });
  }

  const predict: TokenPredictor = (tokens, index) => {
    let best = 0;
    for (const clause of clauses) best = Math.max(best, predictClause(clause, tokens, index));
    return best;
  };
  return {
    clauses,
    targets: uniqueMatchers(clauses.flatMap((clause) => clause.targets)),
    context: uniqueMatchers(clauses.flatMap((clause) => clause.context)),
    recognized: clauses.length > 0,
    predict,
  };
}
