/**
 * @module subject/gpt2-config — a Hugging Face GPT-2 `config.json`, validated (zod) into {@link Gpt2Config}, and back.
 *
 * Read: vocab_size, n_positions (or the legacy n_ctx), n_embd, n_layer, n_head, n_inner (null or absent → 4·n_embd),
 * layer_norm_epsilon (default 1e-5), activation_function (gelu_new, the default; gelu_pytorch_tanh, the same
 * function; gelu; relu). Refused: a model_type other than "gpt2", n_embd not divisible by n_head, untied output
 * embeddings, and the attention variants this model does not implement (scale_attn_weights false,
 * scale_attn_by_inverse_layer_idx true, cross-attention). Other keys are ignored. Errors name the file and the field.
 */
import { z } from 'zod';
import type { Gpt2Config } from './types.ts';
import { InputError } from '../common/errors.ts';

/** A config.json that cannot be used; `field` is the first offending key ('' when the file as a whole is wrong). */
export class Gpt2ConfigError extends InputError {
  override readonly name = 'Gpt2ConfigError';
  constructor(
    readonly file: string,
    readonly field: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
  }
}

const positiveInteger = z
  .number({ error: 'must be a positive integer' })
  .int({ error: 'must be a positive integer' })
  .positive({ error: 'must be a positive integer' });

const activationNames = ['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu'] as const;

const hfGpt2ConfigSchema = z
  .object({
    model_type: z.literal('gpt2', { error: 'must be "gpt2"' }).optional(),
    vocab_size: positiveInteger,
    n_positions: positiveInteger.optional(),
    n_ctx: positiveInteger.optional(),
    n_embd: positiveInteger,
    n_layer: positiveInteger,
    n_head: positiveInteger,
    n_inner: positiveInteger.nullable().optional(),
    layer_norm_epsilon: z
      .number({ error: 'must be a positive number' })
      .positive({ error: 'must be a positive number' })
      .optional(),
    activation_function: z.enum(activationNames, { error: `must be one of ${activationNames.join(', ')}` }).optional(),
    tie_word_embeddings: z
      .boolean({ error: 'must be true or false' })
      .refine((tied) => tied, {
        error: 'is false: untied output embeddings are not supported (GPT-2 ties lm_head to wte)',
      })
      .optional(),
    scale_attn_weights: z
      .boolean({ error: 'must be true or false' })
      .refine((scaled) => scaled, { error: 'is false: attention without the 1/√head_dim scale is not supported' })
      .optional(),
    scale_attn_by_inverse_layer_idx: z
      .boolean({ error: 'must be true or false' })
      .refine((scaled) => !scaled, { error: 'is true: attention scaled by 1/(layer+1) is not supported' })
      .optional(),
    add_cross_attention: z
      .boolean({ error: 'must be true or false' })
      .refine((cross) => !cross, { error: 'is true: cross-attention is not supported' })
      .optional(),
  })
  .superRefine((config, context) => {
    if (config.n_positions === undefined && config.n_ctx === undefined) {
      context.addIssue({ code: 'custom', path: ['n_positions'], message: 'n_positions (or n_ctx) is missing' });
    }
    if (config.n_embd % config.n_head !== 0) {
      context.addIssue({
        code: 'custom',
        path: ['n_embd'],
        message: `n_embd (${config.n_embd}) must be divisible by n_head (${config.n_head})`,
      });
    }
  });

/** The config.json keys as Hugging Face's GPT2Config names them (the subset read here). */
export type HfGpt2Config = z.infer<typeof hfGpt2ConfigSchema>;

function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** One clause per issue: `field is missing`, `field must be … (got …)`, `field is …`, or a whole-object check's sentence. */
function describeIssue(issue: z.core.$ZodIssue, json: Record<string, unknown>): string {
  const field = issue.path.map(String).join('.');
  if (issue.message.startsWith('is ')) return `${field} ${issue.message}`;
  if (issue.code === 'custom') return issue.message;
  const value = json[String(issue.path[0])];
  if (value === undefined && issue.path.length === 1) return `${field} is missing`;
  return `${field} ${issue.message} (got ${describeValue(value)})`;
}

/**
 * Validates a parsed config.json into a {@link Gpt2Config}; `file` names the source in errors, e.g.
 * `config.json: n_embd (10) must be divisible by n_head (3)` or `config.json: n_layer is missing`.
 */
export function parseGpt2Config(json: unknown, file: string): Gpt2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Gpt2ConfigError(
      file,
      '',
      `expected a JSON object, got ${Array.isArray(json) ? 'an array' : describeValue(json)}`,
    );
  }
  const parsed = hfGpt2ConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const reason = issues.map((issue) => describeIssue(issue, json as Record<string, unknown>)).join('; ');
    throw new Gpt2ConfigError(file, issues[0]?.path.map(String).join('.') ?? '', reason);
  }
  const hf = parsed.data;
  const nPositions = hf.n_positions ?? hf.n_ctx;
  if (nPositions === undefined) throw new Gpt2ConfigError(file, 'n_positions', 'n_positions (or n_ctx) is missing'); // checked above
  const activation =
    hf.activation_function === undefined || hf.activation_function === 'gelu_pytorch_tanh'
      ? 'gelu_new'
      : hf.activation_function;
  return {
    vocabSize: hf.vocab_size,
    nPositions,
    nEmbd: hf.n_embd,
    nLayer: hf.n_layer,
    nHead: hf.n_head,
    nInner: hf.n_inner ?? 4 * hf.n_embd,
    layerNormEpsilon: hf.layer_norm_epsilon ?? 1e-5,
    activation,
  };
}

/**
 * The config.json object for a {@link Gpt2Config}, as Hugging Face's GPT2LMHeadModel (and TransformerLens, which reads
 * n_ctx) load it. `parseGpt2Config(toHfConfig(c), f)` gives back `c`.
 */
export function toHfConfig(config: Gpt2Config): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
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
