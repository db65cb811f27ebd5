/**
 * @module subject/gpt2-config — a Hugging Face GPT-2 `config.json`, validated (zod) into {@link Gpt2Config}, and back.
 */
import { z } from 'zod';
import type { Gpt2Config } from './types.ts';

const positiveInt = z.number().int().positive();

const HfGpt2ConfigSchema = z
  .object({
    model_type: z.literal('gpt2').optional(),
    vocab_size: positiveInt,
    n_positions: positiveInt.optional(),
    n_ctx: positiveInt.optional(),
    n_embd: positiveInt,
    n_layer: positiveInt,
    n_head: positiveInt,
    n_inner: positiveInt.nullable().optional(),
    layer_norm_epsilon: z.number().positive().optional(),
    activation_function: z.enum(['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu']).optional(),
    tie_word_embeddings: z.literal(true, { error: 'untied output embeddings are not supported (GPT-2 ties lm_head to wte)' }).optional(),
  })
  .refine((c) => c.n_positions !== undefined || c.n_ctx !== undefined, { message: 'n_positions (or n_ctx) is required', path: ['n_positions'] })
  .refine((c) => c.n_embd % c.n_head === 0, { message: 'n_embd must be divisible by n_head', path: ['n_embd'] });

export class Gpt2ConfigError extends Error {
  override readonly name = 'Gpt2ConfigError';
}

/** Validates a parsed config.json; the error names the file and the field. */
export function parseGpt2Config(json: unknown, file: string): Gpt2Config {
  const parsed = HfGpt2ConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    const detail =
      issue.path[0] === 'n_embd' && issue.message.includes('divisible') && typeof json === 'object' && json !== null
        ? ` (${(json as { n_embd: number }).n_embd} and ${(json as { n_head: number }).n_head})`
        : '';
    throw new Gpt2ConfigError(`${file}: ${field}: ${issue.message}${detail}`);
  }
  const c = parsed.data;
  const activation = c.activation_function === undefined || c.activation_function === 'gelu_pytorch_tanh' ? 'gelu_new' : c.activation_function;
  return {
    vocabSize: c.vocab_size,
    nPositions: (c.n_positions ?? c.n_ctx)!,
    nEmbd: c.n_embd,
    nLayer: c.n_layer,
    nHead: c.n_head,
    nInner: c.n_inner ?? 4 * c.n_embd,
    layerNormEpsilon: c.layer_norm_epsilon ?? 1e-5,
    activation,
  };
}

/** The config.json object Hugging Face's GPT2LMHeadModel reads. */
export function toHfConfig(config: Gpt2Config): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: config.vocabSize,
    n_positions: config.nPositions,
    n_ctx: config.nPositions,
    n_embd: config.nEmbd,
    n_layer: config.nLayer,
    n_head: config.nHead,
    n_inner: config.nInner,
    layer_norm_epsilon: config.layerNormEpsilon,
    activation_function: config.activation,
    tie_word_embeddings: true,
  };
}
