/**
 * @module pipeline/resolve-run-config — the config of a run invocation: a new run's from its input, a resumed run's
 * from its stored row (with the operational overrides; a run stored before `scorers` existed keeps the scorers it ran),
 * and the name a new run gets.
 */
import { shardNameSuffix } from '../records/shards.ts';
import type { ResultStore, RunRow } from '../store/result-store.ts';
import {
  parsePipelineConfig,
  type OperationalOverrides,
  type PipelineConfig,
  type PipelineConfigInput,
} from './config.ts';
import { InputError } from '../common/errors.ts';
import { LEGACY_SCORERS } from './select-scorers.ts';

export interface ResolvedRunConfig {
  /** The stored run being resumed, when resuming. */
  resumed: RunRow | undefined;
  config: PipelineConfig;
}

/**
 * A resumed run's stored config (with `overrides`), refused when there is no such run or nothing is left to do;
 * otherwise the validated `input` of a new run.
 */
export function resolveRunConfig(
  store: ResultStore | undefined,
  resume: { resumeRunId?: number; overrides?: OperationalOverrides },
  input: PipelineConfigInput | undefined,
): ResolvedRunConfig {
  if (resume.resumeRunId !== undefined && store) {
    const run: RunRow | undefined = store.getRun(resume.resumeRunId);
    if (!run) throw new InputError(`no run ${resume.resumeRunId} in this database`);
    if (run.status === 'finished' && store.runProgress(run.id).failed === 0) {
      throw new InputError(`run ${run.id} is already finished with no failed feature; nothing to resume`);
    }
    // How long to wait on pending batches is a choice of each invocation, not of the run.
    const { batchMaxWaitMs: _perInvocation, ...stored } = JSON.parse(run.config) as PipelineConfigInput;
    // A run stored before scorers were selectable ran correlation and ablation: it goes on with those.
    const scorers = stored.scorers ?? LEGACY_SCORERS.filter((name) => stored.ablation !== false || name !== 'ablation');
    return { resumed: run, config: parsePipelineConfig({ ...stored, scorers, ...resume.overrides }) };
  }
  return { resumed: undefined, config: parsePipelineConfig(input ?? {}) };
}

function defaultRunName(config: PipelineConfig): string {
  const source = config.source === 'demo' ? 'demo' : (config.source.split('/').filter(Boolean).at(-1) ?? config.source);
  return `${source} · ${config.explainer} → ${config.simulator}`;
}

/** The run's name: `--name` or one derived from source and models, ending with ` [shard i/n]` for a shard run. */
export function runName(config: PipelineConfig): string {
  return `${config.name ?? defaultRunName(config)}${config.shard ? shardNameSuffix(config.shard) : ''}`;
}
