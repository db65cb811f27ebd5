/** The shared in-process CLI helper: exit codes, captured output, per-call environment and folder, restored after. */
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';

describe('runCli in-process', () => {
  it('returns 0 and the version for --version, 2 and one named error for an unknown flag', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: '0.1.0\n', stderr: '' });
    const bad = await cli(['leaderboard', '--no-such-flag']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option '--no-such-flag'/);
  });

  it('sets the environment and working folder for one call and restores them, leaving process.exitCode alone', async () => {
    const folder = realpathSync(mkdtempSync(join(tmpdir(), 'autointerp-in-process-')));
    const folderBefore = process.cwd();
    const exitCodeBefore = process.exitCode;
    const result = await cli(['leaderboard'], { cwd: folder, env: { AUTOINTERP_DB: 'missing.db' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing.db');
    expect(process.cwd()).toBe(folderBefore);
    expect(process.env.AUTOINTERP_DB).toBeUndefined();
    expect(process.exitCode).toBe(exitCodeBefore);
  });
});
