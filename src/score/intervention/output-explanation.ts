/**
 * @module score/intervention/output-explanation — the true output-side explanation of a feature, read off the model
 * itself: which tokens clamping the feature makes the model WRITE (the truth the intervention score asks about; POS
 * labels say where a feature fires, the input side). For the scorer-validity benchmark's `brown-1l-outputs` source.
 *
 * The model continues held-out neutral prompts (not the intervention prompt file's: the truth must not be read off
 * the very texts the judge is shown) greedily, once as it is and once with the feature clamped at `strength` × its
 * max activation (the scorer's clamp, steered-generation). A token's gain is its count in the clamped continuations
 * minus its count in the plain ones; the explanation names the tokens of the highest gain (at least `minimumGain`,
 * at most `maxTokens`; ties by first appearance; blank tokens and tokens holding a double quote are left out), phrased as the explainer phrases tokens: `the tokens "been" and
 * "able"`. Needs a started tfjs backend.
 */
import type { LoadedFeatureModel } from '../scorer.ts';
import { generateSteeredRows } from './steered-generation.ts';

/** Neutral sentence starts, none of them among prompts/intervention.v1.json's. */
export const heldOutPrompts: readonly string[] = [
  'The old house stood',
  'After the war, the',
  'He wanted to know',
  'On the table there',
  'We should have',
  'Her mother told her',
  'At the end of',
  'I think that the',
];

export interface OutputTokensOptions {
  prompts?: readonly string[];
  /** The clamp as a multiple of the max activation. Default 4 (the scorer's strongest). */
  strength?: number;
  /** Tokens generated per continuation. Default 10 (as the scorer). */
  maxNewTokens?: number;
  /** Tokens named at most. Default 3. */
  maxTokens?: number;
  /** The least gain (clamped count − plain count over all prompts) of a token named. Default 2. */
  minimumGain?: number;
}

/** A token the clamp adds, as written (the tokenizer's string, e.g. " been") with its gain. */
export interface OutputToken {
  token: string;
  gain: number;
}

/** A token an explanation can quote: something visible, no double quote (it would end the quotation). */
const quotable = (token: string) => token.trim().length > 0 && !token.includes('"');

/** The tokens the clamped feature adds most to the held-out continuations (possibly none: a feature too weak). */
export async function outputTokens(
  loaded: LoadedFeatureModel,
  maxActivation: number,
  options: OutputTokensOptions = {},
): Promise<OutputToken[]> {
  const { subject, target } = loaded;
  const { tokenizer } = subject;
  const { prompts = heldOutPrompts, strength = 4, maxNewTokens = 10, maxTokens = 3, minimumGain = 2 } = options;
  const start = tokenizer.eosId !== null ? [tokenizer.eosId] : [];
  const rows = prompts.flatMap((prompt) => {
    const promptIds = [...start, ...tokenizer.encode(prompt)];
    return [
      { promptIds, clamp: null },
      { promptIds, clamp: strength * maxActivation },
    ];
  });
  const generated = await generateSteeredRows(subject.model, target, rows, {
    maxNewTokens,
    stopTokenIds: tokenizer.eosId !== null ? [tokenizer.eosId] : [],
  });
  /** Gain per token string (ids that print alike count as one), in order of first appearance. */
  const gains = new Map<string, number>();
  generated.forEach((ids, row) => {
    const sign = rows[row]!.clamp === null ? -1 : 1;
    for (const token of tokenizer.tokenStrings(ids)) gains.set(token, (gains.get(token) ?? 0) + sign);
  });
  return [...gains]
    .map(([token, gain]) => ({ token, gain }))
    .filter(({ token, gain }) => gain >= minimumGain && quotable(token))
    .sort((a, b) => b.gain - a.gain)
    .slice(0, maxTokens);
}

/** `the token "x"` / `the tokens "x" and "y"` / `the tokens "x", "y" and "z"` (each token trimmed, as quoted). */
export function outputExplanation(tokens: readonly string[]): string {
  const quoted = tokens.map((token) => `"${token.trim()}"`);
  if (quoted.length === 0) throw new RangeError('an output explanation needs at least one token');
  if (quoted.length === 1) return `the token ${quoted[0]}`;
  return `the tokens ${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}
