/**
 * The one place errors become exit codes (cli/errors.ts): an input error is one line and exit 2, an expected
 * operational failure one line and exit 2, a bug one line and exit 70 with its stack only under --debug.
 */
import { describe, expect, it } from 'vitest';
import { classifyError, EXIT_ERROR, EXIT_INTERNAL_ERROR, reportCliError, UsageError } from '../../src/cli/errors.ts';
import { AutointerpError, InputError } from '../../src/common/errors.ts';
import { RunFailedError } from '../../src/pipeline/run-failed-error.ts';
import { FileFormatError } from '../../src/records/errors.ts';

/** Reports `error` into a string instead of stderr. */
function report(error: unknown, argv: readonly string[] = [], environment: Record<string, string | undefined> = {}) {
  let text = '';
  const code = reportCliError(error, { argv, environment, write: (chunk) => (text += chunk) });
  return { code, lines: text.trimEnd().split('\n'), text };
}

describe('reportCliError', () => {
  it('an input error: one line, its message as is, exit 2, no stack even with --debug', () => {
    const cause = new Error('ENOENT');
    const { code, lines } = report(new FileFormatError('records.jsonl', 'line 3', 'not JSON', { cause }), ['--debug']);
    expect(code).toBe(EXIT_ERROR);
    expect(lines).toEqual(['autointerp: records.jsonl (line 3): not JSON']);
  });

  it('a usage error is an input error and keeps the error it wraps as its cause', () => {
    const cause = new InputError('the SAE reads 64 values, the cache has 32');
    const error = new UsageError(`--sae: ${cause.message}`, { cause });
    expect(error).toBeInstanceOf(InputError);
    expect(error).toBeInstanceOf(AutointerpError);
    expect(error.cause).toBe(cause);
    expect(report(error)).toMatchObject({
      code: 2,
      lines: ['autointerp: --sae: the SAE reads 64 values, the cache has 32'],
    });
  });

  it('a bug (a TypeError, a RangeError from our code): one line that says so, exit 70, no stack without --debug', () => {
    for (const bug of [
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new RangeError('index 9 outside [0, 4)'),
    ]) {
      const { code, lines } = report(bug);
      expect(code).toBe(EXIT_INTERNAL_ERROR);
      expect(lines).toEqual([
        `autointerp: internal error: ${bug.message} (this is a bug; rerun with --debug for the stack trace)`,
      ]);
    }
    expect(report('a thrown string')).toMatchObject({
      code: 70,
      lines: ['autointerp: internal error: a thrown string (this is a bug; rerun with --debug for the stack trace)'],
    });
  });

  it('a bug with --debug or AUTOINTERP_DEBUG=1: the same line, then the stack trace with its cause chain', () => {
    const bug = new TypeError('x is not a function', { cause: new Error('the inner failure') });
    for (const { argv, environment } of [
      { argv: ['run', '--debug'], environment: {} },
      { argv: ['run'], environment: { AUTOINTERP_DEBUG: '1' } },
    ]) {
      const { code, lines, text } = report(bug, argv, environment);
      expect(code).toBe(70);
      expect(lines[0]).toBe(
        'autointerp: internal error: x is not a function (this is a bug; rerun with --debug for the stack trace)',
      );
      expect(lines[1]).toMatch(/^TypeError: x is not a function/);
      expect(text).toContain('at '); // a stack frame
      expect(text).toContain('[cause]: Error: the inner failure');
    }
    // `--debug` after `--` is an argument, not the flag; AUTOINTERP_DEBUG=0 is off.
    expect(report(bug, ['tag', '--', '--debug'], { AUTOINTERP_DEBUG: '0' }).lines).toHaveLength(1);
  });

  it('an operational failure (an AutointerpError, a system error): one line with "error:", exit 2', () => {
    expect(report(new AutointerpError('the simulator answered nothing'))).toMatchObject({
      code: 2,
      lines: ['autointerp: error: the simulator answered nothing'],
    });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    expect(report(new TypeError('fetch failed', { cause: refused }))).toMatchObject({
      code: 2,
      lines: ['autointerp: error: fetch failed'],
    });
    const full = Object.assign(new Error('database or disk is full'), { name: 'SqliteError', code: 'SQLITE_FULL' });
    expect(report(full).code).toBe(2);
    const syntax = Object.assign(new Error('near "SELEC": syntax error'), {
      name: 'SqliteError',
      code: 'SQLITE_ERROR',
    });
    expect(report(syntax).code).toBe(70);
  });

  it('a failed run is what its cause is: a full disk is operational (2), a bug inside the run is a bug (70)', () => {
    const full = Object.assign(new Error('database or disk is full'), { name: 'SqliteError', code: 'SQLITE_FULL' });
    expect(report(new RunFailedError(1, 'run 1 failed: database or disk is full', { cause: full }))).toMatchObject({
      code: 2,
      lines: ['autointerp: error: run 1 failed: database or disk is full'],
    });
    expect(
      classifyError(new RunFailedError(1, 'run 1 failed: x is undefined', { cause: new TypeError('x is undefined') })),
    ).toBe('bug');
    expect(classifyError(new RunFailedError(1, 'run 1 failed: bad key', { cause: new InputError('bad key') }))).toBe(
      'operational',
    );
  });

  it('control characters in a message are shown, never sent to the terminal', () => {
    expect(report(new InputError('bad \u001b]52;c;aGk=\u0007 token')).lines).toEqual([
      'autointerp: bad \\x1b]52;c;aGk=\\x07 token',
    ]);
  });
});
