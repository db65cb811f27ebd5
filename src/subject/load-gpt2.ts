/**
 * @module subject/load-gpt2 — GPT-2 weights in the Hugging Face layout (a folder with `config.json` and
 * `model.safetensors`): loading with every tensor name and shape checked, and saving (seeded initialization: train-lm.ts).
 *
 * Accepted variations on load: a `transformer.` prefix on names (GPT2LMHeadModel checkpoints), the causal-mask
 * buffers `h.{L}.attn.bias` / `h.{L}.attn.masked_bias` (ignored, not read), and `lm_head.weight` when it is a copy of
 * wte (tied; dropped). Anything else missing, extra, misshapen, integer or non-finite is an error naming the tensor.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gpt2ConfigError, parseGpt2Config, toHfConfig } from './gpt2-config.ts';
import {
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsError,
  writeSafetensors,
  type SafetensorsEntry,
} from '../common/safetensors.ts';
import type { Gpt2Config, Gpt2Weights, HostTensor } from './types.ts';

export interface SaveGpt2Options {
  /** Stored dtype of the weights (default F32). F16 halves the file; values round to the nearest half. */
  dtype?: 'F32' | 'F16';
}

/** Every tensor a GPT-2 of this config has, with its shape (Hugging Face names, no prefix), in model order. */
export function expectedGpt2Shapes(config: Gpt2Config): Map<string, number[]> {
  const d = config.nEmbd;
  const inner = config.nInner;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [config.vocabSize, d]],
    ['wpe.weight', [config.nPositions, d]],
  ]);
  for (let layer = 0; layer < config.nLayer; layer++) {
    const block = `h.${layer}`;
    shapes.set(`${block}.ln_1.weight`, [d]);
    shapes.set(`${block}.ln_1.bias`, [d]);
    shapes.set(`${block}.attn.c_attn.weight`, [d, 3 * d]);
    shapes.set(`${block}.attn.c_attn.bias`, [3 * d]);
    shapes.set(`${block}.attn.c_proj.weight`, [d, d]);
    shapes.set(`${block}.attn.c_proj.bias`, [d]);
    shapes.set(`${block}.ln_2.weight`, [d]);
    shapes.set(`${block}.ln_2.bias`, [d]);
    shapes.set(`${block}.mlp.c_fc.weight`, [d, inner]);
    shapes.set(`${block}.mlp.c_fc.bias`, [inner]);
    shapes.set(`${block}.mlp.c_proj.weight`, [inner, d]);
    shapes.set(`${block}.mlp.c_proj.bias`, [d]);
  }
  shapes.set('ln_f.weight', [d]);
  shapes.set('ln_f.bias', [d]);
  return shapes;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((size, index) => size === b[index]);
const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

function readConfigFile(file: string): Gpt2Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Gpt2ConfigError(
      file,
      '',
      `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Gpt2ConfigError(file, '', `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseGpt2Config(json, file);
}

const PREFIX = 'transformer.';

/** What a stored tensor name is to the loader. */
type StoredRole =
  | { kind: 'weight'; name: string }
  | { kind: 'mask-buffer' }
  | { kind: 'lm-head' }
  | { kind: 'unexpected' };

function roleOf(storedName: string, expected: ReadonlyMap<string, number[]>, nLayer: number): StoredRole {
  if (storedName === 'lm_head.weight') return { kind: 'lm-head' };
  const name = storedName.startsWith(PREFIX) ? storedName.slice(PREFIX.length) : storedName;
  if (expected.has(name)) return { kind: 'weight', name };
  const mask = /^h\.(\d+)\.attn\.(?:bias|masked_bias)$/.exec(name);
  if (mask && Number(mask[1]) < nLayer) return { kind: 'mask-buffer' };
  return { kind: 'unexpected' };
}

function checkFinite(file: string, name: string, data: Float32Array): void {
  for (let index = 0; index < data.length; index++) {
    if (!Number.isFinite(data[index]!)) {
      throw new SafetensorsError(file, `tensor ${name} has a non-finite value (${data[index]}) at element ${index}`, {
        tensor: name,
      });
    }
  }
}

/**
 * Loads a Hugging Face GPT-2 folder (`config.json` + `model.safetensors`) with every tensor checked against the
 * config: names, shapes, dtype (floating), finiteness; the header is checked before any data is read. Errors are
 * {@link Gpt2ConfigError} (config.json) or {@link SafetensorsError} (model.safetensors), e.g.
 * `…/model.safetensors: missing tensor h.1.mlp.c_fc.weight`.
 */
export function loadGpt2Folder(dir: string): { config: Gpt2Config; weights: Gpt2Weights } {
  const config = readConfigFile(join(dir, 'config.json'));
  const file = join(dir, 'model.safetensors');
  const expected = expectedGpt2Shapes(config);

  // Names and shapes first, from the header alone.
  const header = readSafetensorsHeader(file);
  const seen = new Map<string, string>(); // weight name → stored name
  const wanted = new Set<string>();
  for (const entry of header.entries) {
    const role = roleOf(entry.name, expected, config.nLayer);
    const fail = (reason: string): never => {
      throw new SafetensorsError(file, reason, { tensor: entry.name });
    };
    if (role.kind === 'mask-buffer') continue;
    if (role.kind === 'unexpected') {
      fail(
        `unexpected tensor ${entry.name} (not part of a GPT-2 with n_layer ${config.nLayer}; is config.json the right one?)`,
      );
    }
    if (entry.dtype === 'I32' || entry.dtype === 'I64') fail(`tensor ${entry.name} has integer dtype ${entry.dtype}`);
    if (role.kind === 'lm-head') {
      const wte = expected.get('wte.weight')!;
      if (!sameShape(entry.shape, wte)) {
        fail(
          `tensor lm_head.weight has shape ${formatShape(entry.shape)}, expected ${formatShape(wte)} (it must be tied to wte.weight)`,
        );
      }
      wanted.add(entry.name);
      continue;
    }
    if (role.kind !== 'weight') continue;
    const shape = expected.get(role.name)!;
    if (!sameShape(entry.shape, shape))
      fail(`tensor ${role.name} has shape ${formatShape(entry.shape)}, expected ${formatShape(shape)}`);
    const duplicate = seen.get(role.name);
    if (duplicate !== undefined) fail(`tensor ${role.name} is stored twice (as ${duplicate} and ${entry.name})`);
    seen.set(role.name, entry.name);
    wanted.add(entry.name);
  }
  for (const name of expected.keys()) {
    if (!seen.has(name)) throw new SafetensorsError(file, `missing tensor ${name}`, { tensor: name });
  }

  const { tensors } = readSafetensors(file, { include: (entry: SafetensorsEntry) => wanted.has(entry.name) });
  const weights: Gpt2Weights = new Map();
  for (const [name, shape] of expected) {
    const stored = tensors.get(seen.get(name)!)!;
    const data = stored.data as Float32Array; // integer dtypes were refused above
    checkFinite(file, name, data);
    weights.set(name, { shape: [...shape], data });
  }
  const lmHead = tensors.get('lm_head.weight');
  if (lmHead) {
    const wte = weights.get('wte.weight')!.data;
    const differs = (lmHead.data as Float32Array).findIndex((value, index) => value !== wte[index]);
    if (differs >= 0) {
      throw new SafetensorsError(
        file,
        `tensor lm_head.weight differs from wte.weight (element ${differs}): untied output embeddings are not supported`,
        {
          tensor: 'lm_head.weight',
        },
      );
    }
  }
  return { config, weights };
}

/**
 * Writes `config.json` and `model.safetensors` (GPT2Model names, no prefix, `format: pt` metadata: what
 * `GPT2LMHeadModel.from_pretrained` and TransformerLens load) into `dir`, created if needed. The weights must be
 * exactly the expected tensors of `config`.
 */
export function saveGpt2Folder(
  dir: string,
  config: Gpt2Config,
  weights: Gpt2Weights,
  options: SaveGpt2Options = {},
): void {
  const dtype = options.dtype ?? 'F32';
  const expected = expectedGpt2Shapes(config);
  for (const [name, shape] of expected) {
    const tensor: HostTensor | undefined = weights.get(name);
    if (!tensor) throw new Error(`saveGpt2Folder: missing tensor ${name}`);
    if (!sameShape(tensor.shape, shape))
      throw new Error(
        `saveGpt2Folder: tensor ${name} has shape ${formatShape(tensor.shape)}, expected ${formatShape(shape)}`,
      );
    if (tensor.data.length !== shape.reduce((product, size) => product * size, 1)) {
      throw new Error(
        `saveGpt2Folder: tensor ${name} has ${tensor.data.length} values for shape ${formatShape(shape)}`,
      );
    }
  }
  for (const name of weights.keys()) {
    if (!expected.has(name))
      throw new Error(`saveGpt2Folder: unexpected tensor ${name} (not part of this config's GPT-2)`);
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), weights, { dtype, metadata: { format: 'pt' } });
  const hfConfig = { ...toHfConfig(config), torch_dtype: dtype === 'F16' ? 'float16' : 'float32' };
  const configFile = join(dir, 'config.json');
  const temporary = `${configFile}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(hfConfig, null, 2)}\n`);
  renameSync(temporary, configFile);
}
