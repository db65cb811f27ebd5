/**
 * @module subject/load-gpt2 — GPT-2 weights in the Hugging Face layout (a folder with `config.json` and
 * `model.safetensors`): loading with every tensor name and shape checked, and saving.
 *
 * Accepted variations: a `transformer.` prefix on names (GPT2LMHeadModel checkpoints), the causal-mask buffers
 * `h.{L}.attn.bias` / `h.{L}.attn.masked_bias` (ignored), and `lm_head.weight` when it has wte's shape (tied; dropped).
 */
import { readFileSync } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGpt2Config, toHfConfig } from './gpt2-config.ts';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.ts';
import type { Gpt2Config, Gpt2Weights } from './types.ts';

/** Every tensor a GPT-2 of this config has, with its shape (Hugging Face names, no prefix). */
export function expectedGpt2Shapes(config: Gpt2Config): Map<string, number[]> {
  const d = config.nEmbd;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [config.vocabSize, d]],
    ['wpe.weight', [config.nPositions, d]],
  ]);
  for (let layer = 0; layer < config.nLayer; layer++) {
    const p = `h.${layer}`;
    shapes.set(`${p}.ln_1.weight`, [d]).set(`${p}.ln_1.bias`, [d]);
    shapes.set(`${p}.attn.c_attn.weight`, [d, 3 * d]).set(`${p}.attn.c_attn.bias`, [3 * d]);
    shapes.set(`${p}.attn.c_proj.weight`, [d, d]).set(`${p}.attn.c_proj.bias`, [d]);
    shapes.set(`${p}.ln_2.weight`, [d]).set(`${p}.ln_2.bias`, [d]);
    shapes.set(`${p}.mlp.c_fc.weight`, [d, config.nInner]).set(`${p}.mlp.c_fc.bias`, [config.nInner]);
    shapes.set(`${p}.mlp.c_proj.weight`, [config.nInner, d]).set(`${p}.mlp.c_proj.bias`, [d]);
  }
  shapes.set('ln_f.weight', [d]).set('ln_f.bias', [d]);
  return shapes;
}

const ignoredBuffer = /^h\.\d+\.attn\.(bias|masked_bias)$/;

function readConfig(file: string): Gpt2Config {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SafetensorsError(file, code ? `cannot read (${code})` : `not valid JSON (${(error as Error).message})`);
  }
  return parseGpt2Config(json, file);
}

/** Loads and checks a Hugging Face GPT-2 folder. */
export function loadGpt2Folder(dir: string): { config: Gpt2Config; weights: Gpt2Weights } {
  const config = readConfig(join(dir, 'config.json'));
  const file = join(dir, 'model.safetensors');
  const { tensors } = readSafetensors(file);
  const expected = expectedGpt2Shapes(config);
  const weights: Gpt2Weights = new Map();
  for (const [rawName, tensor] of tensors) {
    const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
    if (ignoredBuffer.test(name)) continue;
    if (name === 'lm_head.weight') {
      const wte = expected.get('wte.weight')!;
      if (tensor.shape.join() !== wte.join()) {
        throw new SafetensorsError(file, `tensor lm_head.weight has shape [${tensor.shape.join(', ')}], expected [${wte.join(', ')}] (tied to wte)`);
      }
      continue;
    }
    const shape = expected.get(name);
    if (!shape) throw new SafetensorsError(file, `unexpected tensor ${rawName} (not part of a ${config.nLayer}-layer GPT-2)`);
    if (tensor.shape.join() !== shape.join()) {
      throw new SafetensorsError(file, `tensor ${name} has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!(tensor.data instanceof Float32Array)) throw new SafetensorsError(file, `tensor ${name} has integer dtype ${tensor.dtype}`);
    weights.set(name, { shape: tensor.shape, data: tensor.data });
  }
  for (const name of expected.keys()) {
    if (!weights.has(name)) throw new SafetensorsError(file, `missing tensor ${name}`);
  }
  return { config, weights };
}

/** Writes config.json + model.safetensors in the Hugging Face GPT-2 layout. */
export function saveGpt2Folder(dir: string, config: Gpt2Config, weights: Gpt2Weights, options: { dtype?: 'F32' | 'F16' } = {}): void {
  const expected = expectedGpt2Shapes(config);
  for (const [name, shape] of expected) {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`saveGpt2Folder: missing tensor ${name}`);
    if (tensor.shape.join() !== shape.join()) throw new Error(`saveGpt2Folder: tensor ${name} has shape [${tensor.shape}], expected [${shape}]`);
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), weights, { dtype: options.dtype ?? 'F32', metadata: { format: 'pt' } });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(toHfConfig(config), null, 2)}\n`);
}
