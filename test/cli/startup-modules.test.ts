/**
 * Start-up loads only what a command needs: `autointerp --help` and `autointerp leaderboard` load no LLM SDK, no
 * tokenizer, no tfjs, not the pipeline (each command imports those when it runs) and no zod (the option defaults come
 * from pipeline/config-defaults.ts, `featureKey` from records/feature-key.ts); `autointerp run` against an
 * OpenAI-compatible server loads no Anthropic SDK (imported at the first Anthropic call). A spawned CLI
 * (bin/autointerp.js: the build in dist/ when it is current, else the sources through tsx) with a module hook that
 * lists every module it loads; a module of the build is named by its source file (dist/cli/main.js as
 * src/cli/main.ts), so either way the same modules are expected.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

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

/**
 * The modules `autointerp args` loads, as paths relative to the repository (packages as node_modules/<name>/…, the
 * build's modules as their sources: dist/a/b.js as src/a/b.ts).
 */
function modulesLoadedBy(args: readonly string[]): { status: number | null; modules: string[] } {
  const result = spawnSync(process.execPath, ['--import', registerFile, join(root, 'bin/autointerp.js'), ...args], {
    cwd: scratch,
    encoding: 'utf8',
    env: process.env,
    timeout: 120_000,
  });
  const modules = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => decodeURIComponent(new URL(line.slice('LOADED '.length)).pathname).replace(`${root}/`, ''))
    .map((module) => module.replace(/^dist\/(.*)\.js$/, 'src/$1.ts'));
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

  it('autointerp run with an OpenAI-compatible provider loads the pipeline and no Anthropic SDK (imported at its first call)', () => {
    // The provider's server refuses the connection (port 1 on loopback): the pre-flight fails after the run's modules
    // loaded, before any run row. Before the SDK was imported lazily, this start loaded its 299 modules (248 of
    // @anthropic-ai/sdk, 51 of @opentelemetry/api): over a third of the modules of every run's start.
    const features = writeFeaturesJsonl(join(scratch, 'features.jsonl'), syntheticFeatures(1));
    const provider = 'openai-compatible:rule-based-v1';
    const { status, modules } = modulesLoadedBy([
      'run',
      '--records',
      features,
      '--explainer',
      provider,
      '--simulator',
      provider,
      '--base-url',
      'http://127.0.0.1:1/v1',
      '--db',
      join(scratch, 'refused.db'),
      '--no-progress',
    ]);
    expect(status).toBe(2);
    expect(modules).toContain('src/pipeline/run-pipeline.ts');
    expect(modules).toContain('src/llm/anthropic-provider.ts');
    expect(modules.filter((module) => /node_modules\/(@anthropic-ai|@opentelemetry)\//.test(module))).toEqual([]);
  });
});

describe('bin/autointerp.js runs the build only when it is current', () => {
  /** A package folder with this repository's launcher and stand-in entries that say which of them ran. */
  function standInPackage(): string {
    const folder = join(scratch, 'package');
    for (const path of ['bin', 'src/cli', 'dist/cli']) mkdirSync(join(folder, path), { recursive: true });
    writeFileSync(join(folder, 'package.json'), '{ "type": "module" }\n');
    for (const file of ['bin/autointerp.js', 'bin/launch-target.js'])
      copyFileSync(join(root, file), join(folder, file));
    symlinkSync(join(root, 'node_modules'), join(folder, 'node_modules')); // tsx, for the source
    writeFileSync(join(folder, 'src/cli/bin.ts'), "const entry: string = 'source';\nprocess.stdout.write(entry);\n");
    writeFileSync(join(folder, 'dist/cli/bin.js'), "process.stdout.write('dist');\n");
    writeFileSync(join(folder, 'dist/build-stamp.json'), '{}\n');
    for (const path of ['src/cli/bin.ts', 'src/cli', 'src']) utimesSync(join(folder, path), 1_000, 1_000);
    utimesSync(join(folder, 'dist/build-stamp.json'), 2_000, 2_000);
    return folder;
  }
  /** What the launcher printed; a hang is cut off at the timeout (a null status), not left blocking the worker. */
  const entryRun = (folder: string, environment: NodeJS.ProcessEnv) => {
    const launched = spawnSync(process.execPath, [join(folder, 'bin/autointerp.js')], {
      encoding: 'utf8',
      env: environment,
      timeout: 120_000,
    });
    expect(launched.status, launched.stderr).toBe(0);
    return launched.stdout;
  };

  // (AUTOINTERP_FROM_SOURCE, and the other reasons for the source, are test/cli/launch-target.test.ts's.)
  it('the build when no source changed after it, the source through tsx after an edit', () => {
    const folder = standInPackage();
    const { AUTOINTERP_FROM_SOURCE: _, ...environment } = process.env;
    expect(entryRun(folder, environment)).toBe('dist');
    utimesSync(join(folder, 'src/cli/bin.ts'), 3_000, 3_000); // an edit after the build
    expect(entryRun(folder, environment)).toBe('source');
  });
});
