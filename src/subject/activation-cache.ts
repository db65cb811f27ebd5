/**
 * @module subject/activation-cache — an on-disk cache of the activations of one hook point of a subject model over a
 * tokenized corpus: appended batch by batch, crash-safe, resumable, and read back in column chunks (a few features
 * for every token) so that building records for many features keeps memory bounded.
 *
 * ## Layout (format version 1)
 *
 * A folder holding:
 *
 * - `cache.json` — the header (UTF-8 JSON, see {@link ActivationCacheHeader}): format and version, model name and
 *   digests (model files, tokenizer files), hook point, width, sequence length, dtype `"f16"`, whether each document
 *   starts with an inserted `<|endoftext|>`, the corpus (path, format, SHA-256 of its bytes, document count), the Brown
 *   tag vocabulary (or null), and the progress: `sequences` and `tokens` completed. Only the first `sequences` /
 *   `tokens` entries of the data files are valid; anything after them is the debris of an interrupted append.
 * - `sequences.bin` — int32 little-endian, 3 per sequence: `[document, offset, length]` — the corpus document index,
 *   the position of the sequence's first token in that document's token stream (0 = the document's first sequence,
 *   which starts with the inserted `<|endoftext|>` when `bos` is set), and its token count (1 … sequenceLength).
 *   Documents are cut into non-overlapping sequences of `sequenceLength` tokens; the last one of a document is
 *   shorter. Sequences are not padded on disk: token i of the cache is the i-th token of the concatenated sequences.
 * - `tokens.bin` — int32 little-endian token ids, `[tokens]` (the sequences concatenated, no padding).
 * - `activations.bin` — IEEE 754 half floats (binary16, little-endian), row-major `[tokens × width]`: row i is the
 *   hook's activation at token i, computed with the sequence as the model's whole context (position 0 = the
 *   sequence's first token).
 * - `tags.bin` (only when the corpus has Brown tags) — uint16 little-endian `[tokens]`: index into
 *   `tagVocabulary` of the raw Brown tag of the word the token's first non-space character lies in; 0 = none
 *   (`tagVocabulary[0]` is `""`): whitespace-only tokens, `<|endoftext|>`, text outside any tagged word.
 * - `tokenizer.json` (or `vocab.json` + `merges.txt`) — a copy of the model's tokenizer, so that the token strings
 *   of the cache can be shown without the model folder.
 *
 * ## Writing, crash safety and resume
 *
 * Each batch is appended to the data files, which are fsynced; only then is `cache.json` rewritten atomically
 * (temporary file, fsync, rename, fsync of the folder) with the new counts. A crash at any point leaves a
 * `cache.json` whose counts describe complete data. Resuming truncates the data files back to those counts and
 * appends from there; the header's identity (model and tokenizer digests, hook, width, sequence length, corpus digest,
 * tag vocabulary, …) must equal the new run's, else the resume is refused naming the first difference. The files are
 * deterministic (no timestamps), so an interrupted and resumed extraction writes the same bytes as an uninterrupted one
 * with the same batch size.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  write,
  writeSync,
} from 'node:fs';
import { open as openFile, rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { float32ToHalfBits, halfFloatTable } from '../common/float16.ts';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../common/errors.ts';
import { isRecord } from '../common/is-record.ts';

export const activationCacheFormat = 'autointerp-activation-cache';
export const activationCacheVersion = 1;

/** How the corpus was read: the Brown corpus sample (tagged JSONL), a JSONL of {"text"}, or plain text. */
export type CacheCorpusFormat = 'brown-sample' | 'jsonl-text' | 'plain-text';

/** The header of a cache (`cache.json`). */
export interface ActivationCacheHeader {
  format: typeof activationCacheFormat;
  version: typeof activationCacheVersion;
  /** Subject model name (the model folder's name unless given), used in feature ids. */
  model: string;
  /** `sha256:` of the model's config.json and weights file bytes. */
  modelDigest: string;
  /** `sha256:` of the tokenizer file bytes (tokenizer.json, or vocab.json + merges.txt). */
  tokenizerDigest: string;
  /** TransformerLens-style hook point, e.g. `blocks.0.mlp.hook_post`. */
  hook: string;
  /** Activation width at the hook (features per token). */
  width: number;
  /** Longest sequence (the model's context length, n_positions). */
  sequenceLength: number;
  dtype: 'f16';
  /** Id of the `<|endoftext|>` inserted before each document (its first sequence's first token); null: none inserted. */
  bosTokenId: number | null;
  corpus: {
    /** The corpus file as given to the extraction (resolved path). */
    path: string;
    format: CacheCorpusFormat;
    /** `sha256:` of the corpus file bytes. */
    digest: string;
    /** Documents in the corpus (not all of them need be in the cache). */
    documents: number;
  };
  /** Raw Brown tags indexed by `tags.bin`; index 0 is `""` (no tag). Null when the corpus has no tags. */
  tagVocabulary: string[] | null;
  /** Sequences completed (valid entries of sequences.bin). */
  sequences: number;
  /** Tokens completed (valid rows of tokens.bin, activations.bin and tags.bin). */
  tokens: number;
  /** True once every sequence of the corpus is in the cache. */
  corpusComplete: boolean;
}

/** What must match between a cache and a run that resumes it: the header without its progress fields. */
export type ActivationCacheIdentity = Omit<ActivationCacheHeader, 'sequences' | 'tokens' | 'corpusComplete'>;

/** One sequence of the cache: its document, the offset of its first token in the document's tokens, its length. */
export interface CacheSequence {
  document: number;
  offset: number;
  length: number;
}

/** A cache folder that cannot be used (missing, damaged, or not matching the run that wants to resume it). */
export class ActivationCacheError extends InputError {
  override readonly name = 'ActivationCacheError';
  constructor(
    readonly directory: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`activation cache ${directory}: ${reason}`, options);
  }
}

export const cacheFiles = {
  header: 'cache.json',
  sequences: 'sequences.bin',
  tokens: 'tokens.bin',
  activations: 'activations.bin',
  tags: 'tags.bin',
} as const;

const sequenceFields = 3;

if (endianness() !== 'LE') {
  // Typed arrays are written as they lie in memory; the format is little-endian.
  throw new Error('subject/activation-cache: this machine is big-endian; the cache format is little-endian only');
}

// ——— file helpers ———

function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let written = 0;
  while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
}

function readAll(fd: number, target: Uint8Array, position: number): void {
  let read = 0;
  while (read < target.length) {
    const count = readSync(fd, target, read, target.length - read, position + read);
    if (count === 0) throw new Error(`unexpected end of file at byte ${position + read}`);
    read += count;
  }
}

function fsyncDirectory(directory: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);

/** Writes and fsyncs `data` at `position`, in libuv's thread pool (the main thread goes on with the next batch). */
async function writeAllAsync(fd: number, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await writeAsync(fd, data, written, data.length - written, position + written);
    written += bytesWritten;
  }
  await fsyncAsync(fd);
}

function headerText(header: ActivationCacheHeader): string {
  return `${JSON.stringify(header, null, 2)}\n`;
}

/** {@link writeHeader}, off the main thread. */
async function writeHeaderAsync(directory: string, header: ActivationCacheHeader): Promise<void> {
  const path = join(directory, cacheFiles.header);
  const temporary = `${path}.tmp`;
  const handle = await openFile(temporary, 'w');
  try {
    await handle.writeFile(headerText(header), 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  fsyncDirectory(directory);
}

/** Writes `cache.json` atomically: temporary file, fsync, rename over the old one, fsync of the folder. */
function writeHeader(directory: string, header: ActivationCacheHeader): void {
  const path = join(directory, cacheFiles.header);
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeAll(fd, Buffer.from(headerText(header), 'utf8'), 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  fsyncDirectory(directory);
}

const nonNegativeInteger = (value: unknown): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** Reads and checks `cache.json`; null when the folder has none. */
export function readCacheHeader(directory: string): ActivationCacheHeader | null {
  const path = join(directory, cacheFiles.header);
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ActivationCacheError(directory, `${cacheFiles.header} is not valid JSON`, { cause: error });
  }
  if (!isRecord(value) || value.format !== activationCacheFormat) {
    throw new ActivationCacheError(directory, `${cacheFiles.header} is not an autointerp activation cache header`);
  }
  if (value.version !== activationCacheVersion) {
    throw new ActivationCacheError(
      directory,
      `format version ${String(value.version)} is not supported (this autointerp reads version ${activationCacheVersion})`,
    );
  }
  const problems: string[] = [];
  for (const field of ['width', 'sequenceLength'] as const)
    if (!(nonNegativeInteger(value[field]) && (value[field] as number) > 0)) problems.push(field);
  for (const field of ['sequences', 'tokens'] as const) if (!nonNegativeInteger(value[field])) problems.push(field);
  for (const field of ['model', 'modelDigest', 'tokenizerDigest', 'hook'] as const)
    if (typeof value[field] !== 'string') problems.push(field);
  if (value.dtype !== 'f16') problems.push('dtype');
  if (!isRecord(value.corpus)) problems.push('corpus');
  if (
    value.tagVocabulary !== null &&
    !(Array.isArray(value.tagVocabulary) && value.tagVocabulary.every((tag) => typeof tag === 'string'))
  ) {
    problems.push('tagVocabulary');
  }
  if (value.bosTokenId !== null && !nonNegativeInteger(value.bosTokenId)) problems.push('bosTokenId');
  if (problems.length > 0)
    throw new ActivationCacheError(directory, `${cacheFiles.header} has bad or missing fields: ${problems.join(', ')}`);
  return value as unknown as ActivationCacheHeader;
}

/** The data files of a cache with their valid byte lengths for the header's counts. */
function dataFiles(
  header: Pick<ActivationCacheHeader, 'sequences' | 'tokens' | 'width' | 'tagVocabulary'>,
): { name: string; bytes: number }[] {
  const files: { name: string; bytes: number }[] = [
    { name: cacheFiles.sequences, bytes: header.sequences * sequenceFields * 4 },
    { name: cacheFiles.tokens, bytes: header.tokens * 4 },
    { name: cacheFiles.activations, bytes: header.tokens * header.width * 2 },
  ];
  if (header.tagVocabulary) files.push({ name: cacheFiles.tags, bytes: header.tokens * 2 });
  return files;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (isRecord(value)) return JSON.stringify(value);
  return JSON.stringify(value);
}

/** The first field where two identities differ, as `hook blocks.0.mlp.hook_pre (cache) vs blocks.0.mlp.hook_post`. */
export function identityDifference(cached: ActivationCacheIdentity, wanted: ActivationCacheIdentity): string | null {
  const fields: [string, unknown, unknown][] = [
    ['format version', cached.version, wanted.version],
    ['model', cached.model, wanted.model],
    ['model digest (config.json + weights)', cached.modelDigest, wanted.modelDigest],
    ['tokenizer digest', cached.tokenizerDigest, wanted.tokenizerDigest],
    ['hook', cached.hook, wanted.hook],
    ['width', cached.width, wanted.width],
    ['sequence length', cached.sequenceLength, wanted.sequenceLength],
    ['dtype', cached.dtype, wanted.dtype],
    ['inserted <|endoftext|> id', cached.bosTokenId, wanted.bosTokenId],
    ['corpus format', cached.corpus?.format, wanted.corpus.format],
    ['corpus digest (file bytes)', cached.corpus?.digest, wanted.corpus.digest],
    ['corpus documents', cached.corpus?.documents, wanted.corpus.documents],
    ['tag vocabulary', cached.tagVocabulary, wanted.tagVocabulary],
  ];
  for (const [name, left, right] of fields) {
    if (JSON.stringify(left) !== JSON.stringify(right)) {
      return `${name}: the cache has ${describeValue(left)}, this run ${describeValue(right)}`;
    }
  }
  return null;
}

// ——— writer ———

/** One batch of complete sequences to append. */
export interface CacheBatch {
  sequences: readonly CacheSequence[];
  /** Token ids of the sequences, concatenated (Σ length). */
  tokens: Int32Array;
  /** Row-major [tokens × width] activations (converted to half floats), or their half-float bits. */
  activations: Float32Array | Uint16Array;
  /** Tag index per token; required when the cache has a tag vocabulary, else must be absent. */
  tags?: Uint16Array;
}

export interface OpenCacheOptions {
  /**
   * Continue a cache in the folder when there is one (its identity must match; data past its counts is cut off).
   * Without it, a folder that already holds a cache is refused (nothing is overwritten).
   */
  resume?: boolean;
}

/** Appends batches to a cache folder; see the module comment for the crash-safety protocol. */
export class ActivationCacheWriter {
  private closed = false;
  private busy = false;

  private constructor(
    readonly directory: string,
    private header: ActivationCacheHeader,
    private readonly fds: Map<string, number>,
  ) {}

  /** Opens (creating or resuming) the cache in `directory` for a run with this identity. */
  static open(
    directory: string,
    identity: ActivationCacheIdentity,
    options: OpenCacheOptions = {},
  ): ActivationCacheWriter {
    mkdirSync(directory, { recursive: true });
    const existing = readCacheHeader(directory);
    let header: ActivationCacheHeader;
    if (existing) {
      if (!options.resume) {
        throw new ActivationCacheError(
          directory,
          `already holds a cache (${existing.tokens} tokens of ${existing.model} at ${existing.hook}); continue it with resume (--resume), or choose another folder`,
        );
      }
      const difference = identityDifference(existing, identity);
      if (difference)
        throw new ActivationCacheError(
          directory,
          `cannot resume with a different setup — ${difference}; use another cache folder, or delete this one`,
        );
      header = existing;
    } else {
      header = { ...identity, sequences: 0, tokens: 0, corpusComplete: false };
    }
    const fds = new Map<string, number>();
    try {
      for (const file of dataFiles(header)) {
        const path = join(directory, file.name);
        const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
        fds.set(file.name, fd);
        const size = fstatSync(fd).size;
        if (size < file.bytes) {
          throw new ActivationCacheError(
            directory,
            `${file.name} has ${size} bytes, fewer than the ${file.bytes} that ${cacheFiles.header} records (the cache is damaged; delete it)`,
          );
        }
        // Debris of an interrupted append (or a stale file of an earlier cache): cut back to the recorded count.
        if (size > file.bytes) {
          ftruncateSync(fd, file.bytes);
          fsyncSync(fd);
        }
      }
    } catch (error) {
      for (const fd of fds.values()) closeSync(fd);
      throw error;
    }
    if (!existing) writeHeader(directory, header);
    return new ActivationCacheWriter(directory, header, fds);
  }

  /** The header as last committed. */
  get state(): Readonly<ActivationCacheHeader> {
    return this.header;
  }

  /**
   * Appends complete sequences: the data files are written and fsynced, then the header is rewritten with the new
   * counts. Checks and the half-float conversion run at once; the I/O runs in the thread pool, so the caller may
   * compute the next batch meanwhile. One append at a time: await it before the next (and before close).
   */
  async append(batch: CacheBatch): Promise<void> {
    if (this.closed) throw new Error('activation cache writer is closed');
    if (this.busy) throw new Error('activation cache writer: the previous append has not finished');
    const { width, tagVocabulary } = this.header;
    const tokenCount = batch.sequences.reduce((sum, sequence) => sum + sequence.length, 0);
    if (batch.tokens.length !== tokenCount)
      throw new Error(`cache append: ${batch.tokens.length} token ids for sequences of ${tokenCount} tokens`);
    if (batch.activations.length !== tokenCount * width) {
      throw new Error(`cache append: ${batch.activations.length} activations, expected ${tokenCount} × ${width}`);
    }
    if (tagVocabulary ? batch.tags?.length !== tokenCount : batch.tags !== undefined) {
      throw new Error(
        tagVocabulary ? `cache append: expected ${tokenCount} tags` : 'cache append: this cache has no tag vocabulary',
      );
    }
    const sequences = new Int32Array(batch.sequences.length * sequenceFields);
    batch.sequences.forEach((sequence, index) => {
      sequences.set([sequence.document, sequence.offset, sequence.length], index * sequenceFields);
    });
    const halves = batch.activations instanceof Uint16Array ? batch.activations : float32ToHalfBits(batch.activations);
    const writes: [string, ArrayBufferView, number][] = [
      [cacheFiles.sequences, sequences, this.header.sequences * sequenceFields * 4],
      [cacheFiles.tokens, batch.tokens, this.header.tokens * 4],
      [cacheFiles.activations, halves, this.header.tokens * width * 2],
    ];
    if (tagVocabulary) writes.push([cacheFiles.tags, batch.tags!, this.header.tokens * 2]);
    const next = {
      ...this.header,
      sequences: this.header.sequences + batch.sequences.length,
      tokens: this.header.tokens + tokenCount,
    };
    this.busy = true;
    try {
      await Promise.all(
        writes.map(([name, data, position]) => writeAllAsync(this.fds.get(name)!, bytesOf(data), position)),
      );
      await writeHeaderAsync(this.directory, next);
      this.header = next;
    } finally {
      this.busy = false;
    }
  }

  /** The last committed sequence, null when there is none: where a resumed extraction continues. */
  lastSequence(): CacheSequence | null {
    if (this.header.sequences === 0) return null;
    const raw = new Int32Array(sequenceFields);
    readAll(this.fds.get(cacheFiles.sequences)!, bytesOf(raw), (this.header.sequences - 1) * sequenceFields * 4);
    return { document: raw[0]!, offset: raw[1]!, length: raw[2]! };
  }

  /** Records whether every sequence of the corpus is in the cache (rewrites the header when it changes). */
  setCorpusComplete(complete: boolean): void {
    if (this.header.corpusComplete === complete) return;
    this.header = { ...this.header, corpusComplete: complete };
    writeHeader(this.directory, this.header);
  }

  close(): void {
    if (this.closed) return;
    if (this.busy) throw new Error('activation cache writer: close while an append is in flight (await it first)');
    this.closed = true;
    for (const fd of this.fds.values()) closeSync(fd);
  }
}

// ——— reader ———

/** A chunk of columns: `values` is row-major [tokens × features.length] (or [rows × features.length]). */
export interface ColumnChunk {
  features: number[];
  values: Float32Array;
}

export interface ReadColumnsOptions {
  /** Only these token rows (ascending indices), e.g. without the inserted <|endoftext|>; default all. */
  rows?: Int32Array;
  /** Bytes read from activations.bin at a time (default 8 MiB). */
  blockBytes?: number;
}

/** Reads a cache folder (only the data its header counts; anything after it is ignored). */
export class ActivationCache {
  private constructor(
    readonly directory: string,
    readonly header: ActivationCacheHeader,
  ) {}

  static open(directory: string): ActivationCache {
    if (!existsSync(directory)) throw new ActivationCacheError(directory, 'folder not found');
    const header = readCacheHeader(directory);
    if (!header) throw new ActivationCacheError(directory, `no ${cacheFiles.header} (not an activation cache)`);
    for (const file of dataFiles(header)) {
      const path = join(directory, file.name);
      let size = -1;
      try {
        const fd = openSync(path, 'r');
        size = fstatSync(fd).size;
        closeSync(fd);
      } catch {
        // reported below
      }
      if (size < file.bytes) {
        throw new ActivationCacheError(
          directory,
          size < 0
            ? `${file.name} is missing`
            : `${file.name} has ${size} bytes, fewer than the ${file.bytes} recorded`,
        );
      }
    }
    return new ActivationCache(directory, header);
  }

  get tokenCount(): number {
    return this.header.tokens;
  }

  get width(): number {
    return this.header.width;
  }

  private readFile(name: string, bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    if (bytes === 0) return out;
    const fd = openSync(join(this.directory, name), 'r');
    try {
      readAll(fd, out, 0);
    } finally {
      closeSync(fd);
    }
    return out;
  }

  readTokens(): Int32Array {
    return new Int32Array(this.readFile(cacheFiles.tokens, this.header.tokens * 4).buffer);
  }

  /** Tag index per token (into header.tagVocabulary), or null when the corpus had no tags. */
  readTags(): Uint16Array | null {
    if (!this.header.tagVocabulary) return null;
    return new Uint16Array(this.readFile(cacheFiles.tags, this.header.tokens * 2).buffer);
  }

  readSequences(): CacheSequence[] {
    const raw = new Int32Array(this.readFile(cacheFiles.sequences, this.header.sequences * sequenceFields * 4).buffer);
    const sequences: CacheSequence[] = [];
    for (let index = 0; index < this.header.sequences; index++) {
      const at = index * sequenceFields;
      sequences.push({ document: raw[at]!, offset: raw[at + 1]!, length: raw[at + 2]! });
    }
    return sequences;
  }

  /** Token index of each sequence's first token (plus the total at the end). */
  sequenceStarts(sequences: readonly CacheSequence[] = this.readSequences()): Int32Array {
    const starts = new Int32Array(sequences.length + 1);
    sequences.forEach((sequence, index) => {
      starts[index + 1] = starts[index]! + sequence.length;
    });
    return starts;
  }

  /** All features of the token rows [start, end), row-major [(end − start) × width]. */
  readRows(start: number, end: number): Float32Array {
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.header.tokens)
    ) {
      throw new RangeError(`readRows: [${start}, ${end}) is not inside [0, ${this.header.tokens})`);
    }
    const { width } = this.header;
    const halves = new Uint16Array((end - start) * width);
    if (halves.length > 0) {
      const fd = openSync(join(this.directory, cacheFiles.activations), 'r');
      try {
        readAll(fd, bytesOf(halves), start * width * 2);
      } finally {
        closeSync(fd);
      }
    }
    const out = new Float32Array(halves.length);
    const table = halfFloatTable();
    for (let index = 0; index < halves.length; index++) out[index] = table[halves[index]!]!;
    return out;
  }

  /**
   * All features of the given token rows (ascending, in range), row-major [rows.length × width]; runs of
   * consecutive rows are read in one call, so a sorted random sample costs one small read per run.
   */
  readRowSet(rows: Int32Array): Float32Array {
    const { width, tokens } = this.header;
    const halves = new Uint16Array(rows.length * width);
    if (rows.length > 0) {
      const fd = openSync(join(this.directory, cacheFiles.activations), 'r');
      try {
        let first = 0;
        while (first < rows.length) {
          let last = first;
          while (last + 1 < rows.length && rows[last + 1] === rows[last]! + 1) last++;
          const row = rows[first]!;
          if (!(Number.isInteger(row) && row >= 0 && rows[last]! < tokens) || (first > 0 && row <= rows[first - 1]!)) {
            throw new RangeError(
              `readRowSet: rows must be ascending and inside [0, ${tokens}); got ${row} at index ${first}`,
            );
          }
          readAll(fd, bytesOf(halves.subarray(first * width, (last + 1) * width)), row * width * 2);
          first = last + 1;
        }
      } finally {
        closeSync(fd);
      }
    }
    const out = new Float32Array(halves.length);
    const table = halfFloatTable();
    for (let index = 0; index < halves.length; index++) out[index] = table[halves[index]!]!;
    return out;
  }

  /**
   * The given features (columns) for every token, or for `options.rows` only: row-major [rows × features.length],
   * read in one streaming pass over activations.bin with a bounded buffer.
   */
  readColumns(features: readonly number[], options: ReadColumnsOptions = {}): Float32Array {
    const { width, tokens } = this.header;
    for (const feature of features) {
      if (!(Number.isInteger(feature) && feature >= 0 && feature < width))
        throw new RangeError(`readColumns: feature ${feature} is not in [0, ${width})`);
    }
    const rows = options.rows;
    const rowCount = rows ? rows.length : tokens;
    const k = features.length;
    const out = new Float32Array(rowCount * k);
    if (rowCount === 0 || k === 0) return out;
    const columns = Int32Array.from(features);
    const blockRows = Math.max(1, Math.floor((options.blockBytes ?? 8 * 1024 * 1024) / (width * 2)));
    const block = new Uint16Array(blockRows * width);
    const table = halfFloatTable();
    const fd = openSync(join(this.directory, cacheFiles.activations), 'r');
    try {
      // Output row `next` is the next one to fill; blocks are read only where wanted rows lie.
      let next = 0;
      while (next < rowCount) {
        const firstToken = rows ? rows[next]! : next;
        const lastToken = Math.min(tokens, firstToken + blockRows);
        readAll(fd, new Uint8Array(block.buffer, 0, (lastToken - firstToken) * width * 2), firstToken * width * 2);
        while (next < rowCount) {
          const token = rows ? rows[next]! : next;
          if (token >= lastToken) break;
          if (token < firstToken) throw new RangeError('readColumns: rows must be ascending');
          const base = (token - firstToken) * width;
          const target = next * k;
          for (let column = 0; column < k; column++) out[target + column] = table[block[base + columns[column]!]!]!;
          next++;
        }
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }

  /** Successive chunks of at most `chunkFeatures` of the given features; each chunk is one pass over the file. */
  *columnChunks(
    features: readonly number[],
    chunkFeatures: number,
    options: ReadColumnsOptions = {},
  ): Generator<ColumnChunk> {
    if (!(Number.isInteger(chunkFeatures) && chunkFeatures > 0))
      throw new RangeError(`chunkFeatures must be a positive integer, got ${chunkFeatures}`);
    for (let first = 0; first < features.length; first += chunkFeatures) {
      const chunk = features.slice(first, first + chunkFeatures);
      yield { features: chunk, values: this.readColumns(chunk, options) };
    }
  }
}
