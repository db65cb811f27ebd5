/**
 * Start-up loads only what a command needs: `autointerp --help` and `autointerp leaderboard` load no LLM SDK, no
 * tokenizer, no tfjs, not the pipeline (each command imports those when it runs) and no zod (the option defaults come
 * from pipeline/config-defaults.ts, `featureKey` from records/feature-key.ts). A spawned CLI (from the sources,
 * through bin/autointerp.js) with a module hook that lists every module it loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'autointerp-startup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const hooksFile = join(scratch, 'list-modules-hooks.mjs');
writeFileSync(
  hooksFile,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the text is JavaScript source with a template literal
  "export async function load(url, context, next) {\n  const result = await next(url, context);\n  if (url.startsWith('file:')) process.stderr.write(`LOADED ${url}\\n`);\n  return result;\n}\n",
);
const registerFile = join(scratch, 'list-modules.mjs');
writeFileSync(
  registerFile,
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooksFile).href)});\n`,
);

/** The modules `autointerp args` loads, as paths relative to the repository (packages as node_modules/<name>/…). */
function modulesLoadedBy(args: readonly string[]): { status: number | null; modules: string[] } {
  const result = spawnSync(process.execPath, ['--import', registerFile, join(root, 'bin/autointerp.js'), ...args], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, AUTOINTERP_FROM_SOURCE: '1' },
    timeout: 120_000,
  });
  const modules = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => decodeURIComponent(new URL(line.slice('LOADED '.length)).pathname).replace(`${root}/`, ''));
  return { status: result.status, modules };
}

/** Packages and source folders that only the commands that use them may load. */
const heavy = [
  /node_modules\/@anthropic-ai\//,
  /node_modules\/openai\//,
  /node_modules\/js-tiktoken\//,
  /node_modules\/@tensorflow\//,
  /node_modules\/@huggingface\//,
  /node_modules\/zod\//,
  /^src\/pipeline\/run-pipeline\.ts$/,
  /^src\/llm\/create-provider\.ts$/,
  /^src\/subject\//,
  /^src\/sae\//,
];
const heavyModules = (modules: readonly string[]) =>
  modules.filter((module) => heavy.some((pattern) => pattern.test(module)));

describe('start-up loads only what the command needs', () => {
  it('autointerp --help loads commander and the command definitions, no SDK, tokenizer, tfjs, pipeline or zod', () => {
    const { status, modules } = modulesLoadedBy(['--help']);
    expect(status).toBe(0);
    expect(modules).toContain('src/cli/main.ts');
    expect(modules.some((module) => module.includes('node_modules/commander/'))).toBe(true);
    expect(heavyModules(modules)).toEqual([]);
  });

  it('autointerp leaderboard loads the store and the report, no SDK, tokenizer, tfjs, pipeline or zod', () => {
    const { status, modules } = modulesLoadedBy(['leaderboard', '--db', join(scratch, 'no-such.db')]);
    expect(status).toBe(2); // the database does not exist: a usage error, after the command's modules loaded
    expect(modules).toContain('src/report/leaderboard.ts');
    expect(heavyModules(modules)).toEqual([]);
  });
});
