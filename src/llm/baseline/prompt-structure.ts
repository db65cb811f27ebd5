/**
 * @module llm/baseline/prompt-structure — finds the neuron blocks of an explain or simulation prompt (reference
 * layout of openai/automated-interpretability): "Neuron N" headings, the "Explanation of neuron N behavior: the main
 * thing this neuron does is find …" line and the `<start>`…`<end>` records of `token<TAB>value` lines, with the
 * character offset of every value. Tolerant of small variations; never throws on odd text.
 */

/** One `token<TAB>value` line of a record. */
export interface PromptLine {
  /** Everything before the line's last tab, untouched (`" the"`). */
  token: string;
  /** Everything after the last tab, trimmed (`"10"`, `"unknown"`). */
  value: string;
  /** Character offset of the first non-blank character of the value in the parsed text. */
  valueOffset: number;
}

/** One `<start>`…`<end>` record. */
export interface PromptRecord {
  lines: PromptLine[];
  /** Offset of `<start>` in the parsed text. */
  startOffset: number;
}

export interface NeuronBlock {
  /** N of the "Neuron N" heading; null when the text has no heading (the whole text is one block). */
  neuronNumber: number | null;
  /** Offset of the heading (or 0). */
  headingOffset: number;
  /**
   * Text after "the main thing this neuron does is find" on the explanation line, trimmed; null when the block has
   * no explanation line. In an explain prompt the last block's explanation is "" (the model must complete it).
   */
  explanation: string | null;
  /** The records of the block, in order, without those of the zeros-filtered repetition. */
  records: PromptRecord[];
  /** Records listed after "Same activations, but with all zeros filtered out" (explain prompts only). */
  filteredRecords: PromptRecord[];
}

const headingPattern = /(?:^|\n)[ \t]*Neuron[ \t]+(\d+)[ \t]*:?[ \t]*(?=\r?\n)/g;
const explanationPattern =
  /Explanation of neuron\s*\d*\s*behaviou?r\s*:?[ \t]*(?:the main thing this neuron does is find)?([^\n]*)/gi;
const filteredMarkerPattern = /all zeros filtered out/i;
const recordPattern = /<start>([\s\S]*?)<end>/g;

/** True when a line value is the simulation placeholder. */
export function isUnknownValue(value: string): boolean {
  return value.toLowerCase() === 'unknown';
}

/** Splits a prompt into neuron blocks, in text order. */
export function parseNeuronBlocks(text: string): NeuronBlock[] {
  const headings = [...text.matchAll(headingPattern)].map((match) => ({
    neuronNumber: Number(match[1]),
    offset: match.index + (match[0].startsWith('\n') ? 1 : 0),
  }));
  if (headings.length === 0) headings.push({ neuronNumber: Number.NaN, offset: 0 });
  const blocks: NeuronBlock[] = [];
  headings.forEach((heading, position) => {
    const end = headings[position + 1]?.offset ?? text.length;
    blocks.push(
      parseBlock(text, heading.offset, end, Number.isNaN(heading.neuronNumber) ? null : heading.neuronNumber),
    );
  });
  // A last block without its own explanation line takes the last explanation given before it (tolerance for chat
  // layouts that put the explanation in an earlier message than the records).
  const last = blocks.at(-1);
  if (last && last.explanation === null) {
    const earlier = [...text.slice(0, last.headingOffset).matchAll(explanationPattern)].at(-1);
    if (earlier) last.explanation = (earlier[1] ?? '').trim();
  }
  return blocks;
}

function parseBlock(text: string, start: number, end: number, neuronNumber: number | null): NeuronBlock {
  const blockText = text.slice(start, end);
  const explanationMatch = [...blockText.matchAll(explanationPattern)].at(-1);
  const filteredMarker = filteredMarkerPattern.exec(blockText);
  const filteredFrom = filteredMarker ? start + filteredMarker.index : Number.POSITIVE_INFINITY;
  const records: PromptRecord[] = [];
  const filteredRecords: PromptRecord[] = [];
  for (const match of blockText.matchAll(recordPattern)) {
    const startOffset = start + match.index;
    const bodyOffset = startOffset + '<start>'.length;
    const record: PromptRecord = { lines: parseLines(match[1] ?? '', bodyOffset), startOffset };
    (startOffset > filteredFrom ? filteredRecords : records).push(record);
  }
  return {
    neuronNumber,
    headingOffset: start,
    explanation: explanationMatch ? (explanationMatch[1] ?? '').trim() : null,
    records,
    filteredRecords,
  };
}

function parseLines(body: string, bodyOffset: number): PromptLine[] {
  const lines: PromptLine[] = [];
  let lineStart = 0;
  while (lineStart <= body.length) {
    const newline = body.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? body.length : newline;
    const line = body.slice(lineStart, lineEnd).replace(/\r$/, '');
    const tab = line.lastIndexOf('\t');
    if (tab !== -1) {
      const rawValue = line.slice(tab + 1);
      const value = rawValue.trim();
      if (value.length > 0) {
        const leading = rawValue.length - rawValue.trimStart().length;
        lines.push({ token: line.slice(0, tab), value, valueOffset: bodyOffset + lineStart + tab + 1 + leading });
      }
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  return lines;
}
