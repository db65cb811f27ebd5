/**
 * @module pipeline/shard-from-environment — `run --shard auto`: the shard index and count of this process, read from
 * the job system that started it: a Slurm array job or a Kubernetes Indexed Job.
 *
 * Slurm (`sbatch --array=…`): index = (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP, count =
 * SLURM_ARRAY_TASK_COUNT (or (MAX − MIN) / STEP + 1 where COUNT is absent); MIN defaults to 0 and STEP to 1. So
 * `--array=0-7`, `--array=1-8` and `--array=0-14:2` all give shards 0/8 … 7/8. An array that is not an evenly spaced
 * range (`--array=1,2,7`) is refused: its tasks would not cover every shard. `--shards N`, when given, must agree.
 *
 * Kubernetes (`completionMode: Indexed`): index = JOB_COMPLETION_INDEX; the count is not in the environment, so it
 * comes from `--shards N` (the Job's `completions`).
 */
import { InputError } from '../common/errors.ts';
import type { ShardSpec } from '../records/shards.ts';

/** The variables read (names exported for messages and documentation). */
export const SLURM_TASK_ID = 'SLURM_ARRAY_TASK_ID';
export const SLURM_TASK_COUNT = 'SLURM_ARRAY_TASK_COUNT';
export const SLURM_TASK_MIN = 'SLURM_ARRAY_TASK_MIN';
export const SLURM_TASK_MAX = 'SLURM_ARRAY_TASK_MAX';
export const SLURM_TASK_STEP = 'SLURM_ARRAY_TASK_STEP';
export const KUBERNETES_COMPLETION_INDEX = 'JOB_COMPLETION_INDEX';

/** Where a resolved shard came from, for the run's start line. */
export interface ShardFromEnvironment extends ShardSpec {
  /** e.g. `Slurm array task 3 (SLURM_ARRAY_TASK_ID)` or `Kubernetes JOB_COMPLETION_INDEX 3`. */
  source: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** A non-negative integer variable; undefined when unset or empty; a one-line error naming it when it is not one. */
function integerVariable(environment: Environment, name: string): number | undefined {
  const text = environment[name]?.trim();
  if (text === undefined || text === '') return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new InputError(`--shard auto: ${name} must be a non-negative integer, got "${environment[name]}"`);
  }
  return value;
}

function fromSlurm(environment: Environment, taskId: number, shards: number | undefined): ShardFromEnvironment {
  const minimum = integerVariable(environment, SLURM_TASK_MIN) ?? 0;
  const step = integerVariable(environment, SLURM_TASK_STEP) ?? 1;
  const maximum = integerVariable(environment, SLURM_TASK_MAX);
  let count = integerVariable(environment, SLURM_TASK_COUNT);
  if (step < 1) throw new InputError(`--shard auto: ${SLURM_TASK_STEP} must be at least 1, got ${step}`);
  if (maximum !== undefined && maximum < minimum) {
    throw new InputError(`--shard auto: ${SLURM_TASK_MAX} ${maximum} is below ${SLURM_TASK_MIN} ${minimum}`);
  }
  if (count === undefined) {
    if (maximum === undefined) {
      throw new InputError(
        `--shard auto: a Slurm array task (${SLURM_TASK_ID}=${taskId}) without ${SLURM_TASK_COUNT} or ${SLURM_TASK_MAX}: the shard count is unknown (use --shard i/n)`,
      );
    }
    if ((maximum - minimum) % step !== 0) {
      throw new InputError(
        `--shard auto: the Slurm array ${minimum}-${maximum}:${step} is not an evenly spaced range (${SLURM_TASK_MIN}, ${SLURM_TASK_MAX}, ${SLURM_TASK_STEP})`,
      );
    }
    count = (maximum - minimum) / step + 1;
  } else if (count < 1) {
    throw new InputError(`--shard auto: ${SLURM_TASK_COUNT} must be at least 1, got ${count}`);
  } else if (maximum !== undefined && maximum !== minimum + step * (count - 1)) {
    throw new InputError(
      `--shard auto: the Slurm array (${SLURM_TASK_COUNT}=${count}, ${SLURM_TASK_MIN}=${minimum}, ${SLURM_TASK_MAX}=${maximum}, step ${step}) is not an evenly spaced range, so its tasks would not cover every shard; submit it as --array=0-${count - 1}`,
    );
  }
  const offset = taskId - minimum;
  if (offset < 0 || offset % step !== 0 || offset / step >= count) {
    throw new InputError(
      `--shard auto: ${SLURM_TASK_ID}=${taskId} is not a task of the array ${minimum}-${minimum + step * (count - 1)}${step > 1 ? `:${step}` : ''} (${SLURM_TASK_MIN}, ${SLURM_TASK_COUNT}, ${SLURM_TASK_STEP})`,
    );
  }
  if (shards !== undefined && shards !== count) {
    throw new InputError(
      `--shard auto: --shards ${shards} disagrees with the Slurm array's ${count} tasks (${SLURM_TASK_COUNT}); to run one shard of a larger array again use --shard i/n`,
    );
  }
  return { index: offset / step, count, source: `Slurm array task ${taskId} (${SLURM_TASK_ID})` };
}

function fromKubernetes(index: number, shards: number | undefined): ShardFromEnvironment {
  if (shards === undefined) {
    throw new InputError(
      `--shard auto: a Kubernetes Indexed Job (${KUBERNETES_COMPLETION_INDEX}=${index}) does not say how many shards there are: add --shards N (the Job's completions)`,
    );
  }
  if (index >= shards) {
    throw new InputError(
      `--shard auto: ${KUBERNETES_COMPLETION_INDEX}=${index} is not below --shards ${shards} (the Job's completions must equal --shards)`,
    );
  }
  return { index, count: shards, source: `Kubernetes ${KUBERNETES_COMPLETION_INDEX} ${index}` };
}

/**
 * The shard of `--shard auto` (`shards`: the `--shards N` flag). Throws a one-line `InputError` naming the variable
 * or flag at fault when neither job system's variables are set, when they are not integers, when the index is out of
 * range, or when they disagree with `shards`.
 */
export function shardFromEnvironment(environment: Environment, shards?: number): ShardFromEnvironment {
  if (shards !== undefined && !(Number.isSafeInteger(shards) && shards >= 1)) {
    throw new InputError(`--shards must be a positive integer, got ${shards}`);
  }
  const slurmTask = integerVariable(environment, SLURM_TASK_ID);
  const completionIndex = integerVariable(environment, KUBERNETES_COMPLETION_INDEX);
  if (slurmTask !== undefined && completionIndex !== undefined) {
    throw new InputError(
      `--shard auto: both ${SLURM_TASK_ID} (Slurm) and ${KUBERNETES_COMPLETION_INDEX} (Kubernetes) are set; unset one, or use --shard i/n`,
    );
  }
  if (slurmTask !== undefined) return fromSlurm(environment, slurmTask, shards);
  if (completionIndex !== undefined) return fromKubernetes(completionIndex, shards);
  throw new InputError(
    `--shard auto: neither ${SLURM_TASK_ID} (a Slurm array job) nor ${KUBERNETES_COMPLETION_INDEX} (a Kubernetes Indexed Job) is set; use --shard i/n outside those`,
  );
}
