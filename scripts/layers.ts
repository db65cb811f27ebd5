/**
 * @module scripts/layers — the layers of src/ as they are: runs dependency-cruiser with the project's rules
 * (.dependency-cruiser.cjs, docs/DESIGN.md §2) and prints, for each folder of src/, the folders it imports, lowest
 * layer first, then every rule violation. `npm run layers`; exits 1 when a rule is broken. test/layers.test.ts runs
 * the same check in `npm test`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

/** The repository root (this file is in scripts/). */
export const repositoryRoot = resolve(import.meta.dirname, '..');

/** The cruise options of .dependency-cruiser.cjs: the layer rules, the cycle rule and the rest. */
export async function layerRules(): Promise<ICruiseOptions> {
  return extractDepcruiseOptions(resolve(repositoryRoot, '.dependency-cruiser.cjs'));
}

/**
 * Cruises `paths` (relative to `baseDirectory`) with `options` and returns the result, violations included. Type-only
 * imports count: the tsconfig of `baseDirectory` is read when it has one.
 */
export async function cruiseWithRules(
  options: ICruiseOptions,
  paths: string[] = ['src'],
  baseDirectory = repositoryRoot,
): Promise<ICruiseResult> {
  const tsConfigFile = options.tsConfig?.fileName;
  const transpileOptions = tsConfigFile ? { tsConfig: extractTSConfig(resolve(baseDirectory, tsConfigFile)) } : {};
  // Paths in the result, and in the rules, are relative to baseDir.
  const result = await cruise(paths, { ...options, baseDir: baseDirectory }, {}, transpileOptions);
  if (typeof result.output === 'string')
    throw new Error('dependency-cruiser returned text where a result was expected');
  return result.output;
}

/** The folder of src/ a path lies in ("index.ts" for files directly in src/), or null outside src/. */
export function sourceFolder(path: string): string | null {
  const match = /^src\/([^/]+)/.exec(path);
  return match ? match[1]! : null;
}

/** For each folder of src/, the other folders of src/ it imports (files directly in src/ are their own entries). */
export function folderImports(result: ICruiseResult): Map<string, Set<string>> {
  const imports = new Map<string, Set<string>>();
  for (const module of result.modules) {
    const from = sourceFolder(module.source);
    if (from === null) continue;
    const targets = imports.get(from) ?? new Set<string>();
    imports.set(from, targets);
    for (const dependency of module.dependencies) {
      const to = sourceFolder(dependency.resolved);
      if (to !== null && to !== from) targets.add(to);
    }
  }
  return imports;
}

/**
 * Folders lowest layer first, in rounds: the folders that import no other folder, then those that import only
 * folders already placed, and so on (by name within a round; a cycle between folders is broken at the first name).
 */
export function layerOrder(imports: Map<string, Set<string>>): string[] {
  const remaining = new Set([...imports.keys()].sort());
  const ordered: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter((folder) =>
      [...(imports.get(folder) ?? [])].every((target) => !remaining.has(target)),
    );
    const next = ready.length > 0 ? ready : [[...remaining][0]!];
    for (const folder of next) {
      ordered.push(folder);
      remaining.delete(folder);
    }
  }
  return ordered;
}

/** One line per violation: rule, then the import (or the cycle) that breaks it. */
export function describeViolation(violation: IViolation): string {
  const cycle = violation.cycle?.map((step) => step.name);
  const where =
    cycle && cycle.length > 0 ? [violation.from, ...cycle].join(' → ') : `${violation.from} → ${violation.to}`;
  return `${violation.rule.name}: ${where}`;
}

/** The text `npm run layers` prints. */
export function formatLayers(result: ICruiseResult): string {
  const imports = folderImports(result);
  const order = layerOrder(imports);
  const width = Math.max(...order.map((folder) => folder.length));
  const lines = ['src/ folders, lowest layer first, each with the folders it imports:'];
  for (const folder of order) {
    const targets = order.filter((target) => imports.get(folder)?.has(target));
    lines.push(`  ${folder.padEnd(width)}  → ${targets.length > 0 ? targets.join(', ') : '(nothing)'}`);
  }
  const violations = result.summary.violations;
  lines.push('');
  lines.push(
    violations.length === 0
      ? 'No rule of .dependency-cruiser.cjs is broken.'
      : `${violations.length} violations of .dependency-cruiser.cjs:`,
  );
  for (const violation of violations) lines.push(`  ${describeViolation(violation)}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const result = await cruiseWithRules(await layerRules());
  console.log(formatLayers(result));
  if (result.summary.violations.length > 0) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
