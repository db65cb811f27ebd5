/**
 * @module llm/baseline/explain-from-prompt — the rule-based explainer: reads the LAST neuron block of an explain
 * prompt (its `token<TAB>value` lines over all records, without the zeros-filtered repetition), ranks tokens by mean
 * shown activation and names the top ones as quoted tokens: ` the tokens "the", "a" and "an".` When one word class
 * of the lexicon clearly covers the active tokens and not the silent ones, it names that class first
 * (` plural nouns, such as "doubts", "creatures" and "men".`), as an LLM reading the same lines would — but only
 * when that reading predicts the shown activations better than the token list does (checked on the prompt's own
 * records, never on held-out data). Deterministic; a sampled request (best-of-n) names a seeded subset of the tokens.
 */
import { sampleCorrelation } from 'simple-statistics';
import { hashString, mulberry32 } from '../../common/random.ts';
import type { Concept, ConceptLexicon } from './concept-lexicon.ts';
import { conceptMatcher, interpretExplanation, normalizeToken } from './interpret-explanation.ts';
import { parseNeuronBlocks } from './prompt-structure.ts';

/** A distinct (normalized) token of the last block with its mean shown activation. */
export interface TokenActivationSummary {
  token: string;
  meanActivation: number;
  count: number;
}

export interface ExplainFromPromptOptions {
  /** How many tokens the explanation names at most. Default 8 (fewer often name no token of the held-out records, leaving a constant simulation). */
  maxTokensNamed?: number;
  /** Word classes to generalize to; without one, only tokens are named. */
  lexicon?: ConceptLexicon;
  /**
   * A sampled answer (a request with temperature > 0 and this `sampleIndex` ≥ 1): each ranked token is left out with
   * probability SAMPLE_DROP_RATE, drawn from the index, so n samples name n different subsets (best-of-n
   * explanations). Absent or 0: the deterministic answer.
   */
  sampleIndex?: number;
}

/** How often a sampled answer leaves out each ranked token (at least one is always named). */
export const SAMPLE_DROP_RATE = 0.35;

/** The tokens a sampled answer keeps: each dropped with SAMPLE_DROP_RATE, seeded by the sample index; never none. */
function sampleTokens<T>(ranked: readonly T[], sampleIndex: number): T[] {
  const random = mulberry32(hashString('baseline-explain-sample', sampleIndex));
  const kept = ranked.filter(() => random() >= SAMPLE_DROP_RATE);
  return kept.length > 0 || ranked.length === 0 ? kept : [ranked[Math.floor(random() * ranked.length)]!];
}

/** A class is named when it covers ≥ 60 % of the activation mass and ≥ 40 points more than of the silent tokens. */
const MIN_ACTIVE_COVERAGE = 0.6;
const MIN_COVERAGE_MARGIN = 0.4;
/** Fewer distinct active tokens than this are not enough to generalize from. */
const MIN_ACTIVE_TOKENS = 3;

/**
 * The lexicon concept that best separates active from silent tokens: coverage of the activation mass
 * (Σ mean·count·weight / Σ mean·count over active tokens) minus its rate among silent tokens; null when none clears
 * the thresholds.
 */
export function dominantConcept(summaries: readonly TokenActivationSummary[], lexicon: ConceptLexicon): Concept | null {
  const active = summaries.filter((s) => s.meanActivation > 0);
  const silent = summaries.filter((s) => s.meanActivation <= 0);
  if (active.length < MIN_ACTIVE_TOKENS) return null;
  const activeMass = active.reduce((sum, s) => sum + s.meanActivation * s.count, 0);
  const silentCount = silent.reduce((sum, s) => sum + s.count, 0);
  let best: { concept: Concept; margin: number } | null = null;
  for (const concept of lexicon.concepts) {
    const matcher = conceptMatcher(concept);
    const coverage =
      active.reduce((sum, s) => sum + s.meanActivation * s.count * matcher.weightOf(s.token), 0) / activeMass;
    const silentRate =
      silentCount === 0 ? 0 : silent.reduce((sum, s) => sum + s.count * matcher.weightOf(s.token), 0) / silentCount;
    const margin = coverage - silentRate;
    if (coverage >= MIN_ACTIVE_COVERAGE && margin >= MIN_COVERAGE_MARGIN && (!best || margin > best.margin)) {
      best = { concept, margin };
    }
  }
  return best?.concept ?? null;
}

/** The answer when no token of the last block has a positive mean activation. */
export const nothingActiveExplanation = ' nothing in particular; it never fires.';

/**
 * Distinct tokens of the last neuron block, sorted by mean activation (desc), then count (desc), then text.
 * Tokens that are blank after trimming and values that are not numbers are skipped.
 */
export function summarizeLastNeuronActivations(promptText: string): TokenActivationSummary[] {
  const last = parseNeuronBlocks(promptText).at(-1);
  const totals = new Map<string, { sum: number; count: number }>();
  for (const record of last?.records ?? []) {
    for (const line of record.lines) {
      const value = Number(line.value);
      const token = normalizeToken(line.token);
      if (!Number.isFinite(value) || token.length === 0) continue;
      const total = totals.get(token) ?? { sum: 0, count: 0 };
      total.sum += value;
      total.count += 1;
      totals.set(token, total);
    }
  }
  return [...totals.entries()]
    .map(([token, total]) => ({ token, meanActivation: total.sum / total.count, count: total.count }))
    .sort(
      (a, b) =>
        b.meanActivation - a.meanActivation ||
        b.count - a.count ||
        (a.token < b.token ? -1 : a.token > b.token ? 1 : 0),
    );
}

/** Quotes a token so that `interpretExplanation` reads it back (single quotes when it holds a double quote). */
function quote(token: string): string {
  return token.includes('"') ? `'${token}'` : `"${token}"`;
}

/** ` the token "x".` / ` the tokens "x" and "y".` / ` the tokens "x", "y" and "z".` */
export function formatTokenListExplanation(tokens: readonly string[]): string {
  if (tokens.length === 0) return nothingActiveExplanation;
  const quoted = tokens.map(quote);
  if (quoted.length === 1) return ` the token ${quoted[0]}.`;
  return ` the tokens ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}.`;
}

/** The explainer's completion for an explain prompt (to follow "…the main thing this neuron does is find"). */
export function explainFromPrompt(promptText: string, options: ExplainFromPromptOptions = {}): string {
  const maxTokensNamed = options.maxTokensNamed ?? 8;
  const summaries = summarizeLastNeuronActivations(promptText);
  const active = summaries.filter((summary) => summary.meanActivation > 0);
  const named = (options.sampleIndex ? sampleTokens(active, options.sampleIndex) : active)
    .slice(0, maxTokensNamed)
    .map((summary) => summary.token);
  const tokenList = formatTokenListExplanation(named);
  const lexicon = options.lexicon;
  if (!lexicon || named.length === 0) return tokenList;
  const concept = dominantConcept(summaries, lexicon);
  const previous = dominantPreviousToken(promptText);
  const candidates = [tokenList];
  if (concept) {
    const examples = named.slice(0, 3).map(quote);
    const list = examples.length === 1 ? examples[0] : `${examples.slice(0, -1).join(', ')} and ${examples.at(-1)}`;
    candidates.push(` ${concept.name}, such as ${list}.`);
    if (previous) candidates.push(` ${concept.name} right after ${quote(previous)}.`);
  }
  if (previous) candidates.push(` words right after ${quote(previous)}.`);
  // Keep the first candidate that fits the shown records best (the token list wins ties).
  let best = tokenList;
  let bestFit = fitOnShownRecords(promptText, tokenList, lexicon);
  for (const candidate of candidates.slice(1)) {
    const fit = fitOnShownRecords(promptText, candidate, lexicon);
    if (fit > bestFit) [best, bestFit] = [candidate, fit];
  }
  return best;
}

/** A previous token that precedes ≥ 60 % of the activation mass (over ≥ 3 active positions), or null. */
function dominantPreviousToken(promptText: string): string | null {
  const mass = new Map<string, number>();
  let total = 0;
  let activePositions = 0;
  for (const record of parseNeuronBlocks(promptText).at(-1)?.records ?? []) {
    record.lines.forEach((line, index) => {
      const value = Number(line.value);
      if (!(value > 0)) return;
      activePositions += 1;
      total += value;
      if (index === 0) return;
      const previous = normalizeToken(record.lines[index - 1]!.token);
      mass.set(previous, (mass.get(previous) ?? 0) + value);
    });
  }
  if (activePositions < MIN_ACTIVE_TOKENS || total === 0) return null;
  const [token, share] = [...mass].reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
  return token && share / total >= 0.6 ? token : null;
}

/** Correlation of an explanation's predictions with the values shown in the prompt's last neuron block (−1 if undefined). */
function fitOnShownRecords(promptText: string, explanation: string, lexicon: ConceptLexicon): number {
  const { predict } = interpretExplanation(explanation, { lexicon });
  const shown: number[] = [];
  const predicted: number[] = [];
  for (const record of parseNeuronBlocks(promptText).at(-1)?.records ?? []) {
    const tokens = record.lines.map((line) => line.token);
    record.lines.forEach((line, index) => {
      const value = Number(line.value);
      if (!Number.isFinite(value)) return;
      shown.push(value);
      predicted.push(predict(tokens, index));
    });
  }
  if (shown.length < 2) return -1;
  const r = sampleCorrelation(shown, predicted);
  return Number.isFinite(r) ? r : -1;
}
