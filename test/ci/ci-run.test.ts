/**
 * `.ci/run` with stand-ins for npm and chromium on its PATH (nothing is installed or run for real): whether the
 * tests pass or fail, its last lines name the failing tests and give the plain summary "tests: N passed, N failed",
 * and its exit status is non-zero when a test or a step failed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** vitest's JSON report, as `--reporter=json` writes it, for the given tests. */
function vitestJson(tests: { file: string; name: string; failed: boolean }[]) {
  const files = [...new Set(tests.map((test) => test.file))];
  return {
    numPassedTests: tests.filter((test) => !test.failed).length,
    numFailedTests: tests.filter((test) => test.failed).length,
    testResults: files.map((file) => ({
      name: join(root, file),
      status: tests.some((test) => test.file === file && test.failed) ? 'failed' : 'passed',
      message: '',
      assertionResults: tests
        .filter((test) => test.file === file)
        .map((test) => ({ fullName: test.name, status: test.failed ? 'failed' : 'passed' })),
    })),
  };
}

/**
 * What a fake test step writes as its results file: a report (written as JSON), a string (written as it is: a file
 * that does not parse) or undefined (no file: the step died before writing it).
 */
type ResultsFile = unknown;

/** What the fake `npm run test:scale` reports: its results file and its exit status. */
interface ScaleRun {
  results: ResultsFile;
  exit: number;
}

/**
 * Runs .ci/run with a fake npm whose `npm test` writes `results` and exits `testExit`; `ci` prints `npmCiOutput`;
 * `npm run test:scale` writes `scale.results` and exits `scale.exit` when `scale` is given, else writes nothing (as
 * a project without a scale test would) and exits 0.
 */
function runCi(
  results: ResultsFile,
  testExit: number,
  { npmCiOutput = 'added 1 package', scale }: { npmCiOutput?: string; scale?: ScaleRun } = {},
) {
  const bin = mkdtempSync(join(tmpdir(), 'autointerp-ci-'));
  const writeFixture = (file: string, content: ResultsFile) => {
    if (content !== undefined)
      writeFileSync(join(bin, file), typeof content === 'string' ? content : JSON.stringify(content));
  };
  writeFixture('results.json', results);
  if (scale) writeFixture('scale-results.json', scale.results);
  const writeResults = (file: string) =>
    `for arg in "$@"; do case "$arg" in --outputFile=*) [ ! -e "${bin}/${file}" ] || cp "${bin}/${file}" "\${arg#--outputFile=}" ;; esac; done`;
  const npm = `#!/usr/bin/env bash
case "$1 \${2:-}" in
  "--version "*) echo 11.0.0 ;;
  "ci "*) echo ${JSON.stringify(npmCiOutput)} ;;
  "run test:scale") echo "npm $*"; ${scale ? `${writeResults('scale-results.json')}; exit ${scale.exit}` : 'exit 0'} ;;
  "run "*|"start "*) echo "npm $*" ;;
  "test "*) ${writeResults('results.json')}; exit ${testExit} ;;
esac
`;
  writeFileSync(join(bin, 'npm'), npm);
  writeFileSync(join(bin, 'chromium'), '#!/bin/sh\necho "Chromium 1.0 (stand-in)"\n');
  chmodSync(join(bin, 'npm'), 0o755);
  chmodSync(join(bin, 'chromium'), 0o755);
  const result = spawnSync('bash', [join(root, '.ci/run')], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, lines: result.stdout.trimEnd().split('\n') };
}

describe('.ci/run', () => {
  it('when tests fail: names them, prints the summary line last, exits non-zero', () => {
    const { status, lines } = runCi(
      vitestJson([
        { file: 'test/a.test.ts', name: 'a works', failed: false },
        { file: 'test/b.test.ts', name: 'suite > b breaks', failed: true },
        { file: 'test/b.test.ts', name: 'b also works', failed: false },
      ]),
      1,
    );
    expect(status).toBe(1);
    expect(lines.slice(-2)).toEqual(['FAILED test/b.test.ts > suite > b breaks', 'tests: 2 passed, 1 failed']);
  });

  it('when tests pass: the summary line last (the scale test counted in it), exit 0', () => {
    const { status, lines } = runCi(vitestJson([{ file: 'test/a.test.ts', name: 'a works', failed: false }]), 0, {
      scale: {
        results: vitestJson([{ file: 'test/pipeline/memory.test.ts', name: 'memory > does not grow', failed: false }]),
        exit: 0,
      },
    });
    expect(status).toBe(0);
    expect(lines.at(-1)).toBe('tests: 2 passed, 0 failed');
    expect(lines).toContain('demo run: ok');
  });

  it('an install-script warning from npm ci fails the run (after the tests, with the summary)', () => {
    const { status, lines } = runCi(vitestJson([{ file: 'test/a.test.ts', name: 'a works', failed: false }]), 0, {
      npmCiOutput: 'npm warn install-scripts 1 package has install scripts not yet covered by allowScripts:',
    });
    expect(status).toBe(1);
    expect(lines).toContain('── npm ci: FAILED');
    expect(lines.at(-1)).toBe('tests: 1 passed, 0 failed');
  });

  it('runs the scale test after npm test: its failures are named and counted in the summary, exit non-zero', () => {
    const { status, lines } = runCi(vitestJson([{ file: 'test/a.test.ts', name: 'a works', failed: false }]), 0, {
      scale: {
        results: vitestJson([{ file: 'test/pipeline/memory.test.ts', name: 'memory > does not grow', failed: true }]),
        exit: 1,
      },
    });
    expect(status).toBe(1);
    expect(lines).toContain('── scale test (npm run test:scale): FAILED');
    expect(lines.slice(-2)).toEqual([
      'FAILED test/pipeline/memory.test.ts > memory > does not grow',
      'tests: 1 passed, 1 failed',
    ]);
  });

  it('a test step that fails without writing results (a crash, killed for memory) is a FAILED line before the summary', () => {
    const { status, lines } = runCi(vitestJson([{ file: 'test/a.test.ts', name: 'a works', failed: false }]), 0, {
      scale: { results: undefined, exit: 137 },
    });
    expect(status).toBe(1);
    expect(lines.slice(-2)).toEqual([
      'FAILED scale test (no results: the step failed before writing them)',
      'tests: 1 passed, 0 failed',
    ]);
  });

  it('npm test without results: the scale test still counted, both failures named, the note kept', () => {
    const { status, lines } = runCi(undefined, 1, {
      scale: {
        results: vitestJson([{ file: 'test/pipeline/memory.test.ts', name: 'memory > does not grow', failed: true }]),
        exit: 1,
      },
    });
    expect(status).toBe(1);
    expect(lines.slice(-3)).toEqual([
      'FAILED npm test (no results: the step failed before writing them)',
      'FAILED test/pipeline/memory.test.ts > memory > does not grow',
      'tests: 0 passed, 1 failed (no test results: npm test did not get to write them)',
    ]);
  });

  it('a results file that does not parse is a FAILED line naming it; the other file still counts', () => {
    const { status, lines } = runCi('{"numPassedTests": 3, "testRes', 1, {
      scale: {
        results: vitestJson([{ file: 'test/pipeline/memory.test.ts', name: 'memory > does not grow', failed: false }]),
        exit: 0,
      },
    });
    expect(status).toBe(1);
    expect(lines.at(-2)).toMatch(/^FAILED npm test \(its results file \S+vitest\.json does not parse: /);
    expect(lines.at(-1)).toBe('tests: 1 passed, 0 failed');
  });
});
