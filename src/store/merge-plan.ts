/**
 * @module store/merge-plan — which output runs a merge makes (see store/merge.ts for the rules): each input run
 * copied as it is, or the shards of one logical run grouped into one run; checked first (the same run or shard
 * given twice, shards that overlap or hold another shard's feature) and named (a name another input took gets
 * ` (from FILE)`).
 */
import { formatShard, shardNameSuffix, shardOfFeature, type ShardSpec } from '../records/shards.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureKind } from '../records/types.ts';
import { MergeError } from './merge-error.ts';
import type { InputDatabase, Row } from './merge-input.ts';
import { operationalConfigKeys } from './operational-config-keys.ts';
import type { RunRow } from './result-store.ts';

export interface InputRun {
  input: number;
  row: RunRow;
  config: Record<string, unknown> | undefined;
  shard: ShardSpec | undefined;
}

/** A run of the output: one run copied, or the shards of one logical run. */
export type PlannedRun =
  | { kind: 'copied'; run: InputRun; name: string }
  | { kind: 'merged'; count: number; members: InputRun[]; name: string };

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Row)[key])]),
    );
  }
  return value;
}
const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value));

function parseConfig(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function shardOf(config: Record<string, unknown> | undefined): ShardSpec | undefined {
  const shard = config?.shard as { index?: unknown; count?: unknown } | undefined;
  if (!shard || typeof shard !== 'object') return undefined;
  const { index, count } = shard;
  if (!Number.isInteger(index) || !Number.isInteger(count)) return undefined;
  if ((index as number) < 0 || (count as number) < 1 || (index as number) >= (count as number)) return undefined;
  return { index: index as number, count: count as number };
}

/** The key that shards of one logical run share (see the module comment). */
function logicalRunKey(run: InputRun): string {
  const config: Row = { ...run.config };
  delete config.shard;
  for (const key of operationalConfigKeys) delete config[key];
  if (run.row.source_digest) delete config.source;
  return canonicalJson({
    config,
    shardCount: run.shard!.count,
    sourceDigest: run.row.source_digest ?? null,
    codeVersion: run.row.code_version,
    promptVersions: parseConfig(run.row.prompt_versions) ?? run.row.prompt_versions,
    explainer: run.row.explainer,
    simulator: run.row.simulator,
  });
}

const describeRun = (inputs: readonly InputDatabase[], run: InputRun) =>
  `${inputs[run.input]!.label} run ${run.row.id}${run.shard ? ` (shard ${formatShard(run.shard)})` : ''}`;

/** Groups the inputs' runs into output runs, after every check that can refuse the merge. */
export function planRuns(inputs: readonly InputDatabase[], warnings: string[]): PlannedRun[] {
  const runs: InputRun[] = [];
  inputs.forEach((input, index) => {
    for (const row of input.db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[]) {
      const config = parseConfig(row.config);
      runs.push({ input: index, row, config, shard: shardOf(config) });
    }
  });

  // The same (non-shard) run in two files.
  const seen = new Map<string, InputRun>();
  for (const run of runs) {
    if (run.shard) continue;
    const identity = canonicalJson([run.row.name, run.row.started_at, run.row.config, run.row.code_version]);
    const earlier = seen.get(identity);
    if (earlier && earlier.input !== run.input) {
      throw new MergeError(
        `run "${run.row.name}" (started ${run.row.started_at}) is in both ${describeRun(inputs, earlier)} and ${describeRun(inputs, run)}: give each run once`,
      );
    }
    seen.set(identity, run);
  }

  const groups = new Map<string, InputRun[]>();
  const order: ({ kind: 'copied'; run: InputRun } | { kind: 'merged'; key: string })[] = [];
  for (const run of runs) {
    if (!run.shard) {
      order.push({ kind: 'copied', run });
      continue;
    }
    const key = logicalRunKey(run);
    let members = groups.get(key);
    if (!members) {
      groups.set(key, (members = []));
      order.push({ kind: 'merged', key });
    }
    const twin = members.find((member) => member.shard!.index === run.shard!.index);
    if (twin) {
      throw new MergeError(
        `${describeRun(inputs, twin)} and ${describeRun(inputs, run)} are the same shard of run "${run.row.name}": give each shard once`,
      );
    }
    members.push(run);
  }
  for (const members of groups.values()) {
    members.sort((a, b) => a.shard!.index - b.shard!.index);
    checkPartition(inputs, members);
  }

  // Names: kept, unless a run from another input already took one.
  const taken = new Map<string, Set<number>>();
  const nameFor = (wanted: string, fromInputs: ReadonlySet<number>, fileLabel: string): string => {
    const clashes = (name: string) => [...(taken.get(name) ?? [])].some((input) => !fromInputs.has(input));
    let name = wanted;
    if (clashes(name)) {
      const base = `${wanted} (from ${fileLabel})`;
      name = base;
      for (let k = 2; clashes(name); k++) name = `${base} #${k}`;
      warnings.push(`run "${wanted}" of ${fileLabel} is named "${name}" in the output (the name was taken)`);
    }
    let owners = taken.get(name);
    if (!owners) taken.set(name, (owners = new Set()));
    for (const input of fromInputs) owners.add(input);
    return name;
  };

  return order.map((entry): PlannedRun => {
    if (entry.kind === 'copied') {
      return {
        kind: 'copied',
        run: entry.run,
        name: nameFor(entry.run.row.name, new Set([entry.run.input]), inputs[entry.run.input]!.label),
      };
    }
    const members = groups.get(entry.key)!;
    const first = members[0]!;
    const count = first.shard!.count;
    const suffix = shardNameSuffix(first.shard!);
    const baseName = first.row.name.endsWith(suffix) ? first.row.name.slice(0, -suffix.length) : first.row.name;
    const missing = missingShards(count, members);
    if (missing.length > 0) {
      warnings.push(
        `run "${baseName}": shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing; the merged run is incomplete (interrupted)`,
      );
    }
    return {
      kind: 'merged',
      count,
      members,
      name: nameFor(baseName, new Set(members.map((m) => m.input)), inputs[first.input]!.label),
    };
  });
}

export const missingShards = (count: number, members: readonly InputRun[]): number[] =>
  Array.from({ length: count }, (_, index) => index).filter((index) => !members.some((m) => m.shard!.index === index));

/** Refuses shards whose results overlap, or that hold a feature belonging to another shard. */
function checkPartition(inputs: readonly InputDatabase[], members: readonly InputRun[]): void {
  const owner = new Map<string, InputRun>();
  for (const member of members) {
    const rows = inputs[member.input]!.db.prepare(
      `SELECT f.model, f.layer, f.kind, f.idx, f.sae FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ?`,
    ).all(member.row.id) as { model: string; layer: string; kind: FeatureKind; idx: number; sae: string }[];
    for (const row of rows) {
      const key = featureKey({
        model: row.model,
        layer: row.layer,
        kind: row.kind,
        index: row.idx,
        ...(row.sae ? { sae: row.sae } : {}),
      });
      const other = owner.get(key);
      if (other) {
        throw new MergeError(
          `feature ${key} is in the results of two shards: ${describeRun(inputs, other)} and ${describeRun(inputs, member)}`,
        );
      }
      owner.set(key, member);
      const { index, count } = member.shard!;
      const belongs = shardOfFeature(key, count);
      if (belongs !== index) {
        throw new MergeError(
          `feature ${key} is in the results of ${describeRun(inputs, member)} but belongs to shard ${belongs}/${count}`,
        );
      }
    }
  }
}

/** The row of a merged run. */
export function mergedRunRow(planned: Extract<PlannedRun, { kind: 'merged' }>): Row {
  const { members, count } = planned;
  const first = members[0]!;
  const config: Row = { ...first.config };
  delete config.shard;
  const complete = members.length === count;
  const finished = complete && members.every((m) => m.row.status === 'finished');
  const ends = members.map((m) => m.row.finished_at).filter((t): t is string => t !== null);
  const tags = new Set<string>();
  for (const member of members) {
    try {
      for (const tag of JSON.parse(member.row.tags ?? '[]') as unknown[]) if (typeof tag === 'string') tags.add(tag);
    } catch {
      // unreadable tags are dropped
    }
  }
  return {
    name: planned.name,
    config: JSON.stringify(config),
    code_version: first.row.code_version,
    prompt_versions: first.row.prompt_versions,
    explainer: first.row.explainer,
    simulator: first.row.simulator,
    is_baseline: first.row.is_baseline,
    source: first.row.source,
    source_digest: first.row.source_digest ?? null,
    started_at: members.map((m) => m.row.started_at).sort()[0]!,
    finished_at: ends.length > 0 ? ends.sort().at(-1)! : null,
    status: finished ? 'finished' : 'interrupted',
    tags: JSON.stringify([...tags].sort()),
  };
}
