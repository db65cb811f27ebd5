import { describe, expect, it } from 'vitest';
import { hookPointOfModule } from '../../src/sae/hookpoint-names.ts';

describe('hookPointOfModule', () => {
  it('maps the Hugging Face modules sparsify names SAEs by to TransformerLens hook points', () => {
    expect(hookPointOfModule('h.0')).toBe('blocks.0.hook_resid_post');
    expect(hookPointOfModule('layers.12')).toBe('blocks.12.hook_resid_post');
    expect(hookPointOfModule('transformer.h.3.mlp')).toBe('blocks.3.hook_mlp_out');
    expect(hookPointOfModule('model.layers.2.attn')).toBe('blocks.2.hook_attn_out');
    expect(hookPointOfModule('h.1.mlp.c_fc')).toBe('blocks.1.mlp.hook_pre');
    expect(hookPointOfModule('h.1.mlp.act')).toBe('blocks.1.mlp.hook_post');
    expect(hookPointOfModule('ln_f')).toBe('ln_final.hook_normalized');
  });

  it('returns null for names it does not know (the caller keeps the name)', () => {
    for (const name of ['blocks.0.mlp.hook_post', 'h.0.ln_1', 'layers.x', 'embed_out', 'h.0.mlp.c_proj'])
      expect(hookPointOfModule(name), name).toBeNull();
  });
});
