/**
 * @module test/helpers/longest-first-sequencer — the order in which vitest starts the test files: its own order
 * (projects by name, then the files that failed or took longest in the last run, from its cache), except that the
 * files named in `longestTestFiles` start first, longest first. A fresh checkout (CI) has no cache, and vitest then
 * orders files by size, which may start the longest file last: with one worker per core, the whole run then takes
 * that file's time after everything else. Which file is long is known: the list below is that knowledge.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (a full run on a quiet 2-core machine), longest first. Keeping it exact does not matter
 * for the outcome of any test, only for how soon the suite ends.
 */
export const longestTestFiles = [
  'test/cli/demo-run.test.ts', // 46–51 s at the end of session 9
  'test/demo-dataset.test.ts',
  'test/pipeline/score-validity.test.ts',
  'test/cli/kill-resume.test.ts',
  'test/cli/run-lifecycle-cli.test.ts',
  'test/subject/parallel-forward.test.ts',
  'test/pipeline/streaming-memory.test.ts',
  'test/serve/viewer-browser.test.ts',
  'test/report/report-browser.test.ts',
  'test/pipeline/best-of-n-fake-server.test.ts',
  'test/sae/embedded-saes.test.ts', // 7–7.5 s
];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const root = this.ctx.config.root;
    const rank = (spec: TestSpecification): number => {
      const index = longestTestFiles.indexOf(relative(root, spec.moduleId));
      return index < 0 ? longestTestFiles.length : index;
    };
    // Stable: vitest's order everywhere else (Array.prototype.sort is stable), the listed files moved to the front.
    return ordered.slice().sort((a, b) => rank(a) - rank(b));
  }
}
