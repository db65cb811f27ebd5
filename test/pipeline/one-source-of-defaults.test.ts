/**
 * The option defaults and the version have one source each: the config's documented defaults feed `run`'s flags and
 * help text, and package.json's version feeds `--version` and the code version stored with each run. Both sources
 * are replaced here with other values, and the CLI must follow them.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/common/package-version.ts', () => ({ packageVersion: '9.8.7', codeVersion: 'autointerp@9.8.7' }));
vi.mock('../../src/pipeline/config-defaults.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/pipeline/config-defaults.ts')>();
  const changed = {
    ...original.pipelineConfigDefaults,
    explainer: 'openai:gpt-x',
    simulator: 'openai:gpt-y',
    explainPrompt: 'explain.v9',
    simulatePrompt: 'simulate.v9',
    concurrency: 7,
    batchPollMs: 45_000,
    maxAttempts: 9,
    requestTimeoutMs: 33_000,
  };
  return { ...original, pipelineConfigDefaults: changed };
});

const { buildProgram } = await import('../../src/cli/main.ts');

const option = (command: Command, flag: string) => {
  const found = command.options.find((candidate) => candidate.long === flag);
  if (!found) throw new Error(`run has no ${flag}`);
  return found;
};

describe('one source of option defaults and of the version', () => {
  it("run's flags and help text state the config's documented defaults", () => {
    const run = buildProgram().commands.find((command) => command.name() === 'run')!;
    expect(option(run, '--explainer').defaultValue).toBe('openai:gpt-x');
    expect(option(run, '--simulator').defaultValue).toBe('openai:gpt-y');
    expect(option(run, '--explain-prompt').description).toContain('(default explain.v9)');
    expect(option(run, '--simulate-prompt').description).toContain('(default simulate.v9)');
    expect(option(run, '--concurrency').description).toContain('(default 7)');
    expect(option(run, '--batch-poll').description).toContain('(default 45;');
    expect(option(run, '--max-attempts').description).toContain('(default 9)');
    expect(option(run, '--request-timeout-ms').description).toContain('(default 33000)');
  });

  it('--version is the version package.json gives', () => {
    expect(buildProgram().version()).toBe('9.8.7');
  });

  it('the version is read from package.json, and the stored code version is built from it', async () => {
    const actual = await vi.importActual<typeof import('../../src/common/package-version.ts')>(
      '../../src/common/package-version.ts',
    );
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(actual.packageVersion).toBe(version);
    expect(actual.codeVersion).toBe(`autointerp@${version}`);
  });
});
