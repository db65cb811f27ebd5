/**
 * @module pipeline/select-scorers — which scorers a run runs: `scorers` of the config (`--scorers a,b`, or `all`),
 * else every registered scorer (score/registry.ts) — a judge is always at hand (default: the simulator) and a scorer
 * that needs the subject model notes the features whose model is not available. `ablation: false`
 * (`--no-ablation`) leaves ablation out. The selection keeps the registry's order (the order scores are shown).
 */
import { InputError } from '../common/errors.ts';
import type { Scorer } from '../score/scorer.ts';
import type { PipelineConfig } from './config.ts';

/** `--scorers all`: every registered scorer. */
export const ALL_SCORERS = 'all';

/**
 * The scorers of a run before `scorers` was a config key (a resumed run stored without it): correlation, and
 * ablation unless it was turned off.
 */
export const LEGACY_SCORERS: readonly string[] = ['correlation', 'ablation'];

export function selectScorers(
  config: Pick<PipelineConfig, 'scorers' | 'ablation'>,
  registry: readonly Scorer[],
): Scorer[] {
  const known = registry.map((scorer) => scorer.name);
  const asked = config.scorers;
  if (asked === undefined || asked.includes(ALL_SCORERS)) {
    return registry.filter((scorer) => config.ablation || scorer.name !== 'ablation');
  }
  const unknown = asked.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new InputError(
      `--scorers: unknown scorer${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}; known: ${known.join(', ')} (or ${ALL_SCORERS})`,
    );
  }
  if (asked.length === 0) throw new InputError(`--scorers: name at least one scorer (known: ${known.join(', ')})`);
  if (!config.ablation && asked.includes('ablation')) {
    throw new InputError('--scorers names ablation and --no-ablation leaves it out: give one of them');
  }
  return registry.filter((scorer) => asked.includes(scorer.name));
}
