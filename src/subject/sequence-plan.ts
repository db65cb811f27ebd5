/**
 * @module subject/sequence-plan — what `extract` runs: each document tokenized with `<|endoftext|>` in front (as the
 * training stream of the embedded model joins documents) and cut into non-overlapping sequences of the model's
 * context length (the last one shorter); `maxTokens` takes whole sequences in corpus order while the total stays ≤ it.
 */
import type { CacheSequence } from './activation-cache.ts';
import type { ExtractionCorpus } from './extraction-corpus.ts';
import { tokenTags } from './token-tags.ts';
import type { SubjectTokenizer } from './tokenizer.ts';

/** The sequences to extract: token ids and tags of the sequences, concatenated. */
export interface SequencePlan {
  sequences: CacheSequence[];
  /** Start of each sequence in `tokens` (plus the total at the end). */
  starts: number[];
  tokens: Int32Array;
  tags: Uint16Array | null;
  /** Every sequence of the corpus is in the plan. */
  corpusComplete: boolean;
}

/**
 * Tokenizes documents in order and cuts them into sequences, taking whole sequences while the total stays
 * ≤ maxTokens (the first that does not fit ends the plan; tokenization stops there too).
 */
export function planSequences(
  corpus: ExtractionCorpus,
  tokenizer: SubjectTokenizer,
  sequenceLength: number,
  maxTokens: number,
): SequencePlan {
  const tagIndex = new Map((corpus.tagVocabulary ?? []).map((tag, index) => [tag, index]));
  const sequences: CacheSequence[] = [];
  const starts = [0];
  const tokenParts: Int32Array[] = [];
  const tagParts: Uint16Array[] = [];
  let total = 0;
  let complete = true;
  const bos = tokenizer.eosId;
  outer: for (let document = 0; document < corpus.documents.length; document++) {
    const { text, words } = corpus.documents[document]!;
    if (text.length === 0) continue;
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    const prefix = bos === null ? 0 : 1;
    const tokens = new Int32Array(ids.length + prefix);
    if (bos !== null) tokens[0] = bos;
    tokens.set(ids, prefix);
    let tags: Uint16Array | null = null;
    if (corpus.tagVocabulary) {
      tags = new Uint16Array(tokens.length);
      tags.set(tokenTags(text, offsets, words ?? [], tagIndex), prefix);
    }
    for (let offset = 0; offset < tokens.length; offset += sequenceLength) {
      const length = Math.min(sequenceLength, tokens.length - offset);
      if (total + length > maxTokens) {
        complete = false;
        break outer;
      }
      sequences.push({ document, offset, length });
      total += length;
      starts.push(total);
      tokenParts.push(tokens.subarray(offset, offset + length));
      if (tags) tagParts.push(tags.subarray(offset, offset + length));
    }
  }
  const concatenate = <T extends Int32Array | Uint16Array>(parts: T[], out: T): T => {
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  return {
    sequences,
    starts,
    tokens: concatenate(tokenParts, new Int32Array(total)),
    tags: corpus.tagVocabulary ? concatenate(tagParts, new Uint16Array(total)) : null,
    corpusComplete: complete,
  };
}
