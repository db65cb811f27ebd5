/**
 * @module sae/hookpoint-names — sparsify (EleutherAI) names an SAE by the Hugging Face module whose output it reads,
 * and names its folder so (`h.0.mlp`, `layers.6`); the subject model's hook points are TransformerLens names. For a
 * GPT-2-style model (docs/DESIGN.md §5) the module outputs are these hook points:
 *
 * | module (`transformer.` / `model.` prefix optional) | hook point                    |
 * |----------------------------------------------------|-------------------------------|
 * | `h.{L}` or `layers.{L}` (the block's output)       | `blocks.{L}.hook_resid_post`  |
 * | `h.{L}.attn` (after `c_proj`)                      | `blocks.{L}.hook_attn_out`    |
 * | `h.{L}.mlp` (after `c_proj`)                       | `blocks.{L}.hook_mlp_out`     |
 * | `h.{L}.mlp.c_fc`                                   | `blocks.{L}.mlp.hook_pre`     |
 * | `h.{L}.mlp.act`                                    | `blocks.{L}.mlp.hook_post`    |
 * | `ln_f`                                             | `ln_final.hook_normalized`    |
 */

const blockModules: Record<string, string> = {
  '': 'hook_resid_post',
  '.attn': 'hook_attn_out',
  '.mlp': 'hook_mlp_out',
  '.mlp.c_fc': 'mlp.hook_pre',
  '.mlp.act': 'mlp.hook_post',
};

/** The TransformerLens hook point of a Hugging Face module name, or null when the table above does not name it. */
export function hookPointOfModule(moduleName: string): string | null {
  const name = moduleName.replace(/^(transformer|model)\./, '');
  if (name === 'ln_f') return 'ln_final.hook_normalized';
  const block = /^(?:h|layers)\.(\d+)((?:\.[a-z_]+)*)$/.exec(name);
  if (!block) return null;
  const hook = blockModules[block[2]!];
  return hook === undefined ? null : `blocks.${Number(block[1])}.${hook}`;
}
