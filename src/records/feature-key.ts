/**
 * @module records/feature-key — the stable key of a feature, `model/layer/kind/index[@sae]`. Apart from
 * records/types.ts (zod schemas) so that commands that only read the store (leaderboard) start without loading zod.
 */
import type { FeatureId } from './types.ts';

/** Formats the id of a feature for display and as a stable key: `model/layer/kind/index[@sae]`. */
export function featureKey(id: FeatureId): string {
  return `${id.model}/${id.layer}/${id.kind}/${id.index}${id.sae ? `@${id.sae}` : ''}`;
}
