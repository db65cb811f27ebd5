/**
 * @module vitest.config — the projects: `unit` and `unit-isolated` (in-process and quick: `npm run test:unit`, the
 * fast loop) and `slow` (real processes for exit codes, signals and kill -9, model and SAE training, the browser,
 * whole demo runs). `npm test` runs them all. Timeouts are hang guards only: no test's outcome may depend on how
 * loaded the machine is.
 */
import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/helpers/longest-first-sequencer.ts';

/** Test files that spawn processes, train or run models, drive a browser or run the whole demo. */
export const slowTestFiles = [
  // real processes: exit codes as the shell sees them, signals, kill -9, concurrent openers
  'test/cli/kill-resume.test.ts',
  'test/cli/run-lifecycle-cli.test.ts',
  'test/cli/batch-cli.test.ts',
  'test/cli/train-sae-cli.test.ts',
  'test/cli/startup-modules.test.ts',
  'test/store/concurrent-open.test.ts',
  'test/subject/backend.test.ts',
  'test/ci/ci-run.test.ts',
  'test/readme-walk.test.ts',
  // whole demo runs, and pipeline runs of many features or many requests
  'test/cli/cli.test.ts', // the commands in-process, a run resumed
  'test/pipeline/score-validity.test.ts',
  'test/pipeline/batch-mode.test.ts',
  'test/pipeline/ablation-sae-folders.test.ts',
  'test/llm/echo-detection.test.ts',
  'test/fake-llm/cache-per-endpoint.test.ts',
  'test/subject/brown-text.test.ts',
  'test/cli/demo-run.test.ts', // the whole demo, once, for every check of it (leaderboard, database, closing hint)
  'test/demo-dataset.test.ts',
  'test/pipeline/ablation-in-pipeline.test.ts',
  'test/pipeline/fault-mix.test.ts',
  'test/pipeline/shard-auto.test.ts', // sharded runs and their merges
  'test/store/merge.test.ts', // runs and resumes to merge
  'test/cli/reliable-run.test.ts', // six `run` invocations
  'test/pipeline/validate-scorers-cli.test.ts', // validate-scorers runs against the fake server
  'test/pipeline/best-of-n.test.ts', // best-of-n runs, one-shot runs beside them
  'test/pipeline/best-of-n-fake-server.test.ts', // best-of-n runs over HTTP against the fake server
  'test/pipeline/best-of-n-resume.test.ts', // best-of-n runs aborted mid-search and resumed
  'test/pipeline/simulation-protocol.test.ts', // eight runs
  'test/pipeline/streaming-memory.test.ts',
  'test/report/streamed-reports.test.ts', // 10,000-feature databases, the streamed reports against in-memory oracles
  // models and SAEs: training, extraction, ablation
  'test/sae/train-sae.test.ts',
  'test/sae/train-on-cache.test.ts',
  'test/sae/parallel-sae-step.test.ts', // SAE gradient workers, each loading tfjs
  'test/sae/embedded-saes.test.ts',
  'test/sae/metrics.test.ts',
  'test/subject/embedded-model.test.ts',
  'test/subject/extract.test.ts',
  'test/subject/parallel-forward.test.ts', // worker threads, each loading tfjs: forward passes and extraction on 2 workers
  'test/subject/worker-pool.test.ts', // worker threads started through tsx
  'test/serve/run-sections-background.test.ts', // the viewer's worker thread, started through tsx
  'test/subject/extract-cli.test.ts',
  'test/subject/extract-sae-cli.test.ts', // extraction and an SAE's records through the CLI, in-process
  'test/subject/extract-streamed.test.ts', // extractions of a corpus and of four copies of it
  'test/subject/feature-ablation.test.ts',
  'test/subject/gpt2-model.test.ts',
  'test/subject/load-gpt2.test.ts',
  'test/subject/steer.test.ts',
  'test/score/intervention/intervention-scorer.test.ts',
  'test/score/intervention/output-truth.test.ts',
  'test/serve/viewer-models.test.ts',
  // the browser
  'test/report/chromium.test.ts',
  'test/report/report-browser.test.ts',
  'test/serve/viewer-browser.test.ts',
];

/** Test files that replace modules (vi.mock): they need a fresh module graph of their own. */
export const isolatedUnitTestFiles = [
  'test/pipeline/one-source-of-defaults.test.ts',
  'test/pipeline/batch-tokenizer.test.ts', // wraps llm/token-counter's getEncoder
  'test/llm/anthropic-sdk-import.test.ts', // the SDK's import mocked to fail
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    pool: 'forks',
    // One worker per core (vitest's default leaves one core idle): the slow files spend much of their time waiting on
    // child processes and servers; on 2 cores the slow project took 222 s instead of about 350 s.
    maxWorkers: availableParallelism(),
    // The longest files start first, with or without vitest's cache of the last run (a fresh checkout has none).
    sequence: { sequencer: LongestFirstSequencer },
    // bin/autointerp.js spawned by a test runs the build in dist/ when it is built from the current src/, else src/
    // through tsx (bin/launch-target.js): either way what src/ says. The tests never build dist/ themselves.
    projects: [
      // Unit files share one module graph per worker (no re-import of the CLI, tfjs or the SDKs for every file): a
      // unit test leaves no module state behind; one that must replace a module goes in isolatedUnitTestFiles.
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...slowTestFiles, ...isolatedUnitTestFiles],
          isolate: false,
        },
      },
      { extends: true, test: { name: 'unit-isolated', include: isolatedUnitTestFiles } },
      {
        extends: true,
        test: {
          name: 'slow',
          include: slowTestFiles,
          // Says which entry spawned CLIs run (dist/ when current, else the sources through tsx, slower to start).
          globalSetup: ['test/helpers/spawned-entry-notice.ts'],
          // One module graph per worker here too (tfjs, the CLI and the SDKs imported once, not once per file: the
          // whole suite took 287 s instead of 349 s, one run after the other on a quiet machine): a slow test leaves no module state behind either
          // (fault-mix's stubbed fetch is unstubbed after it).
          isolate: false,
          // Hang guards only: at load 20–25 on 2 cores a best-of-n test of 4 features took over 180 s.
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
