/**
 * @module scripts/train-tokenizer — trains the embedded subject model's tokenizer: byte-level BPE in the GPT-2 style
 * on the training split of the Brown corpus (scripts/brown-text.ts; the held-out documents are never seen), and
 * writes data/subject/tokenizer.json (Hugging Face format, loaded by src/subject/tokenizer.ts).
 *
 * Vocabulary (4096): ids 0–255 the bytes in GPT-2's order, then one token per merge, and `<|endoftext|>` last (4095).
 * Training: the text is split with GPT-2's pre-tokenization pattern, equal pieces are counted once with their
 * frequency, and merges run over the unique pieces with incremental pair counts. Each step merges the most frequent
 * adjacent pair; ties go to the pair with the smaller (left id, right id), the rule of Hugging Face's BpeTrainer.
 * When a merge makes a string that is already a token (possible: "ab"+"c" and "a"+"bc"), the merge is kept and no id
 * is added, as Hugging Face's trainer does. Deterministic: the same file on every run.
 *
 * `npx tsx scripts/train-tokenizer.ts [--out data/subject/tokenizer.json]`
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brownDocumentsText } from './brown-text.ts';
import {
  byteLevelBpeTokenizerJson,
  byteToUnicode,
  endOfTextToken,
  gpt2ByteOrder,
  gpt2PreTokenizePattern,
  loadTokenizer,
} from '../src/subject/tokenizer.ts';

export interface BpeTrainingOptions {
  /** Total vocabulary including the special tokens (default 4096). */
  vocabSize: number;
  /** Special tokens, given the last ids (default ["<|endoftext|>"]). */
  specialTokens: readonly string[];
}

export const defaultTrainingOptions: BpeTrainingOptions = { vocabSize: 4096, specialTokens: [endOfTextToken] };

export interface TrainedBpe {
  /** Token string (byte-level, space = "Ġ") of each id, special tokens last. */
  tokens: string[];
  /** Merges in rank order. */
  merges: [string, string][];
  /** Ids of the special tokens, in the order given. */
  specialIds: number[];
}

const defaultTokenizerPath = fileURLToPath(new URL('../data/subject/tokenizer.json', import.meta.url));

/** Counts the pre-tokenized pieces (GPT-2 pattern) of the texts; keys are the pieces as text. */
export function countPieces(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(gpt2PreTokenizePattern)) {
      const piece = match[0];
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  return counts;
}

/** Max-heap of (count, pair key): larger count first, then smaller key (= smaller left id, then right id). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private before(i: number, j: number): boolean {
    const a = this.counts[i]!;
    const b = this.counts[j]!;
    return a !== b ? a > b : this.keys[i]! < this.keys[j]!;
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.keys.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < this.keys.length && this.before(left, best)) best = left;
        if (right < this.keys.length && this.before(right, best)) best = right;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** Pair keys pack (left id, right id) so that numeric order is (left, right) order. */
const pairBase = 1 << 16;

/** Trains byte-level BPE on piece counts (see the module comment for the rules). */
export function trainByteLevelBpe(
  pieceCounts: ReadonlyMap<string, number>,
  options: BpeTrainingOptions = defaultTrainingOptions,
): TrainedBpe {
  const targetTokens = options.vocabSize - options.specialTokens.length;
  if (targetTokens < 256 || options.vocabSize > pairBase) {
    throw new RangeError(`vocabSize must be in [${256 + options.specialTokens.length}, ${pairBase}]`);
  }
  const tokens = gpt2ByteOrder.map((byte) => byteToUnicode[byte]!);
  const idOfToken = new Map(tokens.map((token, id) => [token, id]));
  const idOfByte = new Array<number>(256);
  gpt2ByteOrder.forEach((byte, id) => (idOfByte[byte] = id));

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const frequencies: number[] = [];
  for (const [piece, count] of pieceCounts) {
    words.push(Array.from(encoder.encode(piece), (byte) => idOfByte[byte]!));
    frequencies.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  words.forEach((word, wordIndex) => {
    for (let i = 0; i + 1 < word.length; i += 1) {
      const key = word[i]! * pairBase + word[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + frequencies[wordIndex]!);
      let set = pairWords.get(key);
      if (!set) pairWords.set(key, (set = new Set()));
      set.add(wordIndex);
    }
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: [string, string][] = [];
  const touched = new Set<number>();
  const addPairs = (word: readonly number[], weight: number) => {
    for (let i = 0; i + 1 < word.length; i += 1) {
      const key = word[i]! * pairBase + word[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + weight);
      touched.add(key);
    }
  };

  while (tokens.length < targetTokens && heap.size > 0) {
    const { count, key } = heap.pop();
    if (pairCounts.get(key) !== count || count <= 0) continue; // stale entry
    const left = Math.floor(key / pairBase);
    const right = key % pairBase;
    const merged = tokens[left]! + tokens[right]!;
    let newId = idOfToken.get(merged);
    if (newId === undefined) {
      newId = tokens.length;
      tokens.push(merged);
      idOfToken.set(merged, newId);
    }
    merges.push([tokens[left]!, tokens[right]!]);

    touched.clear();
    for (const wordIndex of pairWords.get(key) ?? []) {
      const word = words[wordIndex]!;
      let contains = false;
      for (let i = 0; i + 1 < word.length && !contains; i += 1) contains = word[i] === left && word[i + 1] === right;
      if (!contains) continue; // the pair left this word in an earlier merge
      const frequency = frequencies[wordIndex]!;
      addPairs(word, -frequency);
      const next: number[] = [];
      for (let i = 0; i < word.length; i += 1) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
          next.push(newId);
          i += 1;
        } else next.push(word[i]!);
      }
      words[wordIndex] = next;
      addPairs(next, frequency);
      for (let i = 0; i + 1 < next.length; i += 1) {
        if (next[i] !== newId && next[i + 1] !== newId) continue;
        const pair = next[i]! * pairBase + next[i + 1]!;
        let set = pairWords.get(pair);
        if (!set) pairWords.set(pair, (set = new Set()));
        set.add(wordIndex);
      }
    }
    pairWords.delete(key);
    for (const pair of touched) {
      const current = pairCounts.get(pair)!;
      if (current <= 0) pairCounts.delete(pair);
      else if (pair !== key) heap.push(current, pair);
    }
    pairCounts.delete(key);
  }

  const specialIds = options.specialTokens.map((token) => {
    tokens.push(token);
    return tokens.length - 1;
  });
  return { tokens, merges, specialIds };
}

/** tokenizer.json text: the Hugging Face layout, with vocab and merges one entry a line (in id / rank order). */
export function formatTokenizerJson(trained: TrainedBpe, specialTokens: readonly string[]): string {
  const vocab = new Map(trained.tokens.map((token, id) => [token, id] as const));
  const json = byteLevelBpeTokenizerJson({
    vocab,
    merges: trained.merges,
    addedTokens: trained.specialIds.map((id, index) => ({ id, content: specialTokens[index]!, special: true })),
  });
  const model = json.model as Record<string, unknown>;
  // JSON.stringify would put integer-like keys ("0", "1", …) first; write the vocab in id order by hand.
  const vocabText = trained.tokens.map((token, id) => `      ${JSON.stringify(token)}: ${id}`).join(',\n');
  const mergesText = (model.merges as string[]).map((merge) => `      ${JSON.stringify(merge)}`).join(',\n');
  const skeleton = JSON.stringify({ ...json, model: { ...model, vocab: '@VOCAB@', merges: '@MERGES@' } }, null, 2);
  const text = skeleton.replace('"@VOCAB@"', `{\n${vocabText}\n    }`).replace('"@MERGES@"', `[\n${mergesText}\n    ]`);
  return `${text}\n`;
}

function main(): void {
  const outIndex = process.argv.indexOf('--out');
  const out = outIndex >= 0 && process.argv[outIndex + 1] ? process.argv[outIndex + 1]! : defaultTokenizerPath;
  const started = performance.now();
  const train = brownDocumentsText('train');
  const read = performance.now();
  const counts = countPieces(train.map((document) => document.text));
  const counted = performance.now();
  const trained = trainByteLevelBpe(counts, defaultTrainingOptions);
  const finished = performance.now();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, formatTokenizerJson(trained, defaultTrainingOptions.specialTokens));
  const characters = train.reduce((sum, document) => sum + document.text.length, 0);
  console.log(
    `training split: ${train.length} documents, ${characters} characters, ${counts.size} distinct pieces ` +
      `(read ${((read - started) / 1000).toFixed(1)} s, counted ${((counted - read) / 1000).toFixed(1)} s)`,
  );
  console.log(
    `trained ${trained.tokens.length} tokens (${trained.merges.length} merges) ` +
      `in ${((finished - counted) / 1000).toFixed(1)} s; wrote ${out}`,
  );

  // Check: the written file loads in @huggingface/tokenizers and round-trips; tokens per word on both splits.
  const tokenizer = loadTokenizer(dirname(out));
  for (const split of ['train', 'heldout'] as const) {
    const documents = split === 'train' ? train : brownDocumentsText('heldout');
    let tokenCount = 0;
    let wordCount = 0;
    let characterCount = 0;
    const encodeStarted = performance.now();
    for (const document of documents) {
      const ids = tokenizer.encode(document.text);
      if (tokenizer.decode(ids) !== document.text) throw new Error(`round trip failed on ${document.name}`);
      tokenCount += ids.length;
      wordCount += document.words.length;
      characterCount += document.text.length;
    }
    const seconds = (performance.now() - encodeStarted) / 1000;
    console.log(
      `${split}: ${tokenCount} tokens for ${wordCount} Brown words = ` +
        `${(tokenCount / wordCount).toFixed(3)} tokens/word, ` +
        `${(characterCount / tokenCount).toFixed(2)} characters/token (encoded in ${seconds.toFixed(1)} s)`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
