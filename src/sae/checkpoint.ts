/**
 * @module sae/checkpoint — a training run's state on disk, for resume (see `SaeTrainerState` in ./trainer-state.ts).
 *
 * A checkpoint folder holds `latest.json` (`{format, version, step, folder}`) naming the subfolder of the latest
 * complete checkpoint, `step-<n>/` (`step-<n>-<i>/` when that name is taken), which holds `trainer.json` (options,
 * activation scale, step and token counts) and `state.safetensors` (F32: W_enc, b_enc, W_dec, b_dec in SAELens layout,
 * their Adam moments `m.*` / `v.*`, `tokens_since_fired`, `window_counts`). The subfolder is written and fsynced
 * first, then `latest.json` is replaced atomically (temporary file, fsync, rename), then older subfolders are removed:
 * a crash at any point leaves a complete checkpoint. F32 keeps every value exact, so a resumed run continues
 * bit-identically.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, serializeSafetensors, type TensorToWrite } from '../common/safetensors.ts';
import { SaeFormatError } from './formats.ts';
import type { SaeTrainerState, StateTensor } from './trainer-state.ts';
import type { ResolvedSaeTrainingOptions } from './training-options.ts';

export const checkpointFormat = 'autointerp-sae-checkpoint';
export const checkpointVersion = 1;
export const checkpointFiles = { latest: 'latest.json', trainer: 'trainer.json', state: 'state.safetensors' } as const;

interface LatestPointer {
  format: typeof checkpointFormat;
  version: typeof checkpointVersion;
  step: number;
  folder: string;
}

interface TrainerFile {
  format: typeof checkpointFormat;
  version: typeof checkpointVersion;
  options: ResolvedSaeTrainingOptions;
  activationScale: number;
  step: number;
  tokens: number;
  windowTokens: number;
}

function writeFileDurably(path: string, data: Buffer | string): void {
  const temporary = `${path}.tmp-${process.pid}`;
  const descriptor = openSync(temporary, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(descriptor, bytes, written, bytes.length - written);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, path);
}

const stepFolderPattern = /^step-\d+(-\d+)?$/;

/** `step-<n>`, or `step-<n>-<i>` when that name is taken (never overwrite the folder `latest.json` may name). */
function freshStepFolderName(directory: string, step: number): string {
  const base = `step-${String(step).padStart(8, '0')}`;
  if (!existsSync(join(directory, base))) return base;
  for (let index = 1; ; index++) if (!existsSync(join(directory, `${base}-${index}`))) return `${base}-${index}`;
}

/** Writes `state` as the latest checkpoint in `directory` (created if needed) and removes older ones. */
export function writeTrainerCheckpoint(directory: string, state: SaeTrainerState): void {
  mkdirSync(directory, { recursive: true });
  const folder = freshStepFolderName(directory, state.step);
  const path = join(directory, folder);
  mkdirSync(path);
  const tensors = new Map<string, TensorToWrite>(
    Object.entries(state.tensors).map(([name, tensor]) => [name, { shape: tensor.shape, data: tensor.data }]),
  );
  writeFileDurably(join(path, checkpointFiles.state), serializeSafetensors(tensors, { dtype: 'F32' }));
  const trainer: TrainerFile = {
    format: checkpointFormat,
    version: checkpointVersion,
    options: state.options,
    activationScale: state.activationScale,
    step: state.step,
    tokens: state.tokens,
    windowTokens: state.windowTokens,
  };
  writeFileDurably(join(path, checkpointFiles.trainer), `${JSON.stringify(trainer, null, 2)}\n`);
  const pointer: LatestPointer = { format: checkpointFormat, version: checkpointVersion, step: state.step, folder };
  writeFileDurably(join(directory, checkpointFiles.latest), `${JSON.stringify(pointer)}\n`);
  for (const entry of readdirSync(directory)) {
    if (entry !== folder && stepFolderPattern.test(entry))
      rmSync(join(directory, entry), { recursive: true, force: true });
  }
}

/** The latest checkpoint in `directory`, or null when there is none. */
export function readTrainerCheckpoint(directory: string): SaeTrainerState | null {
  const latestFile = join(directory, checkpointFiles.latest);
  if (!existsSync(latestFile)) return null;
  const pointer = parseJson(latestFile) as Partial<LatestPointer>;
  if (
    pointer.format !== checkpointFormat ||
    pointer.version !== checkpointVersion ||
    typeof pointer.folder !== 'string' ||
    !stepFolderPattern.test(pointer.folder)
  ) {
    throw new SaeFormatError(latestFile, null, `not an ${checkpointFormat} version ${checkpointVersion} pointer`);
  }
  const trainerFile = join(directory, pointer.folder, checkpointFiles.trainer);
  const trainer = parseJson(trainerFile) as Partial<TrainerFile>;
  if (
    trainer.format !== checkpointFormat ||
    trainer.version !== checkpointVersion ||
    !trainer.options ||
    typeof trainer.step !== 'number'
  ) {
    throw new SaeFormatError(trainerFile, null, `not an ${checkpointFormat} version ${checkpointVersion} trainer file`);
  }
  const stateFile = join(directory, pointer.folder, checkpointFiles.state);
  const file = readSafetensors(stateFile);
  const tensors: Record<string, StateTensor> = {};
  for (const [name, tensor] of file.tensors) {
    if (!(tensor.data instanceof Float32Array))
      throw new SaeFormatError(stateFile, name, `dtype ${tensor.dtype} is not a float type`);
    tensors[name] = { shape: tensor.shape, data: tensor.data };
  }
  return {
    options: trainer.options,
    activationScale: trainer.activationScale ?? 1,
    step: trainer.step,
    tokens: trainer.tokens ?? 0,
    windowTokens: trainer.windowTokens ?? 0,
    tensors,
  };
}

function parseJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SaeFormatError(file, null, `cannot read as JSON (${(error as Error).message})`, { cause: error });
  }
}
