/**
 * `autointerp validate-scorers` in-process: against the fake LLM server on 127.0.0.1 through the OpenAI-compatible
 * provider (as with a real LLM: every registered scorer that needs no subject model separates true from wrong
 * explanations on planted features, AUROC ≥ 0.9), offline with the baseline (the table, labelled BASELINE, and progress
 * on stderr), the puzzles source from `--puzzles`, and usage errors that name the flag.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import type { ValidationReport } from '../../src/pipeline/validate-scorers.ts';
import { scorers } from '../../src/score/registry.ts';
import { cli } from '../helpers/run-cli.ts';

const puzzlesFixture = fileURLToPath(new URL('../fixtures/puzzles-small.json', import.meta.url));

let server: Awaited<ReturnType<typeof startFakeLlmServer>>;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(async () => server.close());

describe('autointerp validate-scorers', () => {
  it('over the fake server: every scorer that needs no subject model reaches AUROC ≥ 0.9 on planted features', async () => {
    const servable = scorers.filter((scorer) => !scorer.needs.subjectModel).map((scorer) => scorer.name);
    const result = await cli([
      'validate-scorers',
      '--truth',
      'planted',
      '--features',
      '3',
      '--scorers',
      servable.join(','),
      '--simulator',
      'openai-compatible:rule-based-v1',
      '--base-url',
      server.url,
      '--no-progress',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ValidationReport;
    expect(report.simulator).toBe('openai-compatible:rule-based-v1');
    expect(report.baseline).toBe(false);
    expect(report.rows.map((row) => row.scorer)).toEqual(servable);
    for (const row of report.rows) {
      expect(row.features, row.scorer).toBe(3);
      expect(row.pooledAuroc!, `${row.scorer}: ${JSON.stringify(row)}`).toBeGreaterThanOrEqual(0.9);
      expect(row.callsPerExplanation!, row.scorer).toBeGreaterThan(0);
      expect(row.promptTokensPerExplanation!, row.scorer).toBeGreaterThan(0);
    }
    const posts = server.requests.filter((request) => request.method === 'POST').length;
    expect(posts).toBeGreaterThanOrEqual(report.candidates.length / servable.length);
  }, 120_000);

  it('offline: prints the table labelled BASELINE, with progress on stderr', async () => {
    const result = await cli(['validate-scorers', '--truth', 'planted', '--features', '1', '--scorers', 'correlation']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('simulator baseline:rule-based-v1');
    expect(result.stdout).toContain('BASELINE: offline rule-based, not an LLM');
    expect(result.stdout).toMatch(
      /^\| correlation \(correlation\.all\) \| planted \| 1 \| 1\.000 \| 1\.000 \| 100 % \|/m,
    );
    expect(result.stderr).toContain('validate-scorers: 1/1 planted demo-planted/0/neuron/0');
  }, 60_000);

  it('reads the puzzles from --puzzles (added to the default sources)', async () => {
    const result = await cli([
      'validate-scorers',
      '--truth',
      'puzzles',
      '--puzzles',
      puzzlesFixture,
      '--scorers',
      'correlation',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ValidationReport;
    expect(report.rows).toMatchObject([{ scorer: 'correlation', source: 'puzzles', featuresOfSource: 2 }]);
    expect(report.candidates.filter((c) => c.feature === 'fruit').map((c) => c.role)).toEqual([
      'true',
      'puzzle-false',
      'puzzle-false',
    ]);
  }, 60_000);

  it('usage errors name the flag', async () => {
    const noFile = await cli(['validate-scorers', '--truth', 'puzzles']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('--truth puzzles needs the puzzles file: --puzzles PATH');
    const badScorer = await cli(['validate-scorers', '--scorers', 'correlation,nope']);
    expect(badScorer.code).toBe(2);
    expect(badScorer.stderr).toContain('--scorers: unknown "nope"; known: correlation');
    const badTruth = await cli(['validate-scorers', '--truth', 'planted,everything']);
    expect(badTruth.code).toBe(2);
    expect(badTruth.stderr).toContain(
      '--truth: unknown "everything"; known: planted, brown-1l, brown-1l-outputs, puzzles',
    );
    const noModels = await cli(['validate-scorers', '--truth', 'brown-1l-outputs', '--no-subject-models']);
    expect(noModels.code).toBe(2);
    expect(noModels.stderr).toContain('--truth brown-1l-outputs runs the subject model');
  });
});
