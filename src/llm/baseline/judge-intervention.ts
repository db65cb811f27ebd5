/**
 * @module llm/baseline/judge-intervention — the rule-based model's answer to the intervention judge's prompt
 * (prompts/intervention.vN.json, score/intervention/judge-prompt.ts): from the last `Explanation: …` block of the
 * request, each `Text i: "<prompt>" -> "<continuation>"` line is judged from the explanation alone: a text is picked
 * (1) when at least a third of its continuation's words are something the explanation names (quoted tokens, word
 * classes of the lexicon, listed words, "after X" contexts that may reach into the prompt; interpret-explanation.ts)
 * with weight ≥ 0.5, else 0; a word ending in one piece repeated ("AAAA", glued tokens) counts as that piece
 * repeated. One named word picked a text before: every fluent plain continuation holds an article or a preposition,
 * a clamped one is often a repetition without them, so word-class explanations fitted the plain texts better and
 * scored below 0 (the POS labels of brown-1l: AUROC 0.415). Deterministic; it never sees which texts were steered.
 */
import type { ConceptLexicon } from './concept-lexicon.ts';
import { interpretExplanation } from './interpret-explanation.ts';

/** One line of a text to judge; the two parts are JSON strings. */
const textLinePattern = /^Text (\d+): ("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*")$/;
const explanationPrefix = 'Explanation: ';
/** Words (letters and digits, inner apostrophes) and single punctuation marks: what an explanation names. */
const wordPattern = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu;
/** The predicted activation (0–10) from which a continuation word counts as described. */
const describedThreshold = 5;
/**
 * The share of a continuation's words that must be described for it to be picked: the judge is told the feature was
 * amplified in some texts, and one common word ("a", a preposition) in fluent text is no sign of that.
 */
const pickShare = 1 / 3;
/** A word ending in one piece repeated (≥ 3 times, pieces of 1–6 characters): "AAAA", "theseaaaa", "inininin". */
const repeatedTail = /^(.*?)((.{1,6}?)\3{2,})$/su;

/**
 * The continuation's words, a word ending in a repeated piece split into what comes before and each piece: glued
 * tokens ("AAAAAAAAAA" is "A" ten times) read as a reader of the text reads them.
 */
function continuationWords(continuation: string): string[] {
  return (continuation.match(wordPattern) ?? []).flatMap((word) => {
    const match = repeatedTail.exec(word);
    if (!match) return [word];
    const [, before = '', tail = '', piece = ''] = match;
    return [...(before ? [before] : []), ...Array.from({ length: tail.length / piece.length }, () => piece)];
  });
}

interface JudgedLine {
  prompt: string;
  continuation: string;
}

/** The explanation and the texts of the request's last block, or null when the text is no intervention prompt. */
function lastBlock(text: string): { explanation: string; texts: JudgedLine[] } | null {
  const start = text.lastIndexOf(explanationPrefix);
  if (start === -1 || (start > 0 && text[start - 1] !== '\n')) return null;
  const [explanationLine = '', ...rest] = text.slice(start + explanationPrefix.length).split('\n');
  const texts: JudgedLine[] = [];
  for (const line of rest) {
    const match = textLinePattern.exec(line.trimEnd());
    if (!match) continue;
    try {
      texts.push({ prompt: JSON.parse(match[2]!) as string, continuation: JSON.parse(match[3]!) as string });
    } catch {
      return null;
    }
  }
  return texts.length > 0 ? { explanation: explanationLine.trim(), texts } : null;
}

/** Whether the request text is an intervention judge prompt. */
export function isInterventionPrompt(text: string): boolean {
  return lastBlock(text) !== null;
}

/** The 0/1 list answering the last block of an intervention prompt, e.g. "[1, 0, 0]". */
export function answerInterventionPrompt(text: string, lexicon: ConceptLexicon): string {
  const block = lastBlock(text);
  if (!block) throw new TypeError('not an intervention judge prompt: no "Explanation:" block with "Text i:" lines');
  const interpretation = interpretExplanation(block.explanation, { lexicon });
  const labels = block.texts.map(({ prompt, continuation }) => {
    const before = prompt.match(wordPattern) ?? [];
    const words = [...before, ...continuationWords(continuation)];
    let described = 0;
    for (let index = before.length; index < words.length; index++) {
      if (interpretation.predict(words, index) >= describedThreshold) described++;
    }
    const count = words.length - before.length;
    return described > 0 && described >= pickShare * count ? 1 : 0;
  });
  return `[${labels.join(', ')}]`;
}
