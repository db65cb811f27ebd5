/** @module subject/token-tags — the Brown tag of each token of a tagged document, from the tokens' character offsets. */
import type { CorpusSampleWord } from './corpus-sample.ts';

/**
 * The tag index of each token: the tag of the word whose span contains the token's first non-space character; 0 when
 * the token is only whitespace or its first character lies in no word. Offsets come from `encodeWithOffsets`.
 */
export function tokenTags(
  text: string,
  offsets: readonly (readonly [number, number])[],
  words: readonly CorpusSampleWord[],
  tagIndex: ReadonlyMap<string, number>,
): Uint16Array {
  const tags = new Uint16Array(offsets.length);
  let word = 0;
  for (let token = 0; token < offsets.length; token++) {
    const [start, end] = offsets[token]!;
    let position = start;
    while (position < end && /\s/.test(text[position]!)) position++;
    if (position >= end) continue;
    while (word < words.length && words[word]!.end <= position) word++;
    const candidate = words[word];
    if (candidate && candidate.start <= position) tags[token] = tagIndex.get(candidate.tag) ?? 0;
  }
  return tags;
}
