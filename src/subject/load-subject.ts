/**
 * @module subject/load-subject — opens a subject model folder (Hugging Face GPT-2 layout: `config.json`,
 * `model.safetensors`, and `tokenizer.json` or `vocab.json` + `merges.txt`) as a ready model, its tokenizer, and the
 * digests that identify it (an activation cache records them so that a resume with other files is refused).
 *
 * Needs a started tfjs backend (`initBackend`): the weights become tensors.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Gpt2Model } from './gpt2-model.ts';
import { loadGpt2Folder } from './load-gpt2.ts';
import { loadTokenizer, type SubjectTokenizer } from './tokenizer.ts';
import type { Gpt2Config } from './types.ts';
import { InputError } from '../common/errors.ts';

export interface SubjectModel {
  /** The folder's name, e.g. "brown-1l"; feature ids carry it. */
  name: string;
  /** The folder, resolved. */
  directory: string;
  config: Gpt2Config;
  model: Gpt2Model;
  tokenizer: SubjectTokenizer;
  /** The tokenizer files in the folder (tokenizer.json, or vocab.json + merges.txt), in that order. */
  tokenizerFiles: string[];
  /** `sha256:` digests of the model files (config.json + model.safetensors) and of the tokenizer files. */
  digests: { model: string; tokenizer: string };
}

/** A subject model folder that cannot be used; the message is one line naming the folder. */
export class SubjectModelError extends InputError {
  override readonly name = 'SubjectModelError';
  constructor(
    readonly directory: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`subject model ${directory}: ${reason}`, options);
  }
}

/** `sha256:<hex>` of the bytes of the files, in order (each file's length and bytes, streamed). */
export function digestFiles(files: readonly string[]): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(1 << 20);
  for (const file of files) {
    hash.update(`${basename(file)}\0${statSync(file).size}\0`);
    const fd = openSync(file, 'r');
    try {
      for (;;) {
        const count = readSync(fd, buffer, 0, buffer.length, null);
        if (count === 0) break;
        hash.update(buffer.subarray(0, count));
      }
    } finally {
      closeSync(fd);
    }
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The tokenizer files of a model folder: tokenizer.json, else vocab.json + merges.txt; empty when neither. */
export function tokenizerFilesIn(directory: string): string[] {
  const json = join(directory, 'tokenizer.json');
  if (existsSync(json)) return [json];
  const pair = [join(directory, 'vocab.json'), join(directory, 'merges.txt')];
  return pair.every((file) => existsSync(file)) ? pair : [];
}

/**
 * Loads the model and tokenizer of a folder. Checks that the folder exists, that it has a tokenizer, and that every
 * token id of the tokenizer has an embedding row (tokenizer vocabSize ≤ config vocab_size).
 */
export async function loadSubjectModel(directory: string): Promise<SubjectModel> {
  const resolved = resolve(directory);
  if (!existsSync(resolved) || !statSync(resolved).isDirectory()) {
    throw new SubjectModelError(
      directory,
      'folder not found (it should hold config.json, model.safetensors and tokenizer.json)',
    );
  }
  const tokenizerFiles = tokenizerFilesIn(resolved);
  if (tokenizerFiles.length === 0)
    throw new SubjectModelError(directory, 'no tokenizer.json (nor vocab.json + merges.txt)');
  const modelFiles = [join(resolved, 'config.json'), join(resolved, 'model.safetensors')];
  for (const file of modelFiles) {
    if (!existsSync(file)) throw new SubjectModelError(directory, `no ${basename(file)}`);
  }
  const tokenizer = loadTokenizer(resolved);
  const { config, weights } = await loadGpt2Folder(resolved);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new SubjectModelError(
      directory,
      `the tokenizer has ${tokenizer.vocabSize} token ids but config.json's vocab_size is ${config.vocabSize}: ` +
        'the tokenizer does not belong to this model',
    );
  }
  const model = Gpt2Model.fromWeights(config, weights);
  return {
    name: basename(resolved),
    directory: resolved,
    config,
    model,
    tokenizer,
    tokenizerFiles,
    digests: { model: digestFiles(modelFiles), tokenizer: digestFiles(tokenizerFiles) },
  };
}
