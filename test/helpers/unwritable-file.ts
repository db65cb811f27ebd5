/**
 * Test helper: a file this process cannot write, to check that read-only opening never writes. For a normal user
 * the file's mode (0444) stops writes; root writes any file whatever its mode, so for root the file lies on a tmpfs
 * remounted read-only (the test is skipped where mounting is not permitted).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'vitest';

/**
 * Writes the file `name` with `write`, makes it unwritable, then runs `use` on its path; the tmpfs (root) is unmounted
 * afterwards whatever `use` did.
 */
export async function withUnwritableFile(
  context: Pick<TestContext, 'skip'>,
  name: string,
  write: (path: string) => void,
  use: (path: string) => void | Promise<void>,
): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'autointerp-unwritable-'));
  let path = join(folder, name);
  let mounted: string | undefined;
  if (process.getuid?.() === 0) {
    mounted = join(folder, 'read-only');
    mkdirSync(mounted);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mounted], { stdio: 'pipe' });
    } catch {
      context.skip('root, and mount is not permitted here');
      return;
    }
    path = join(mounted, name);
  }
  try {
    write(path);
    if (mounted) execFileSync('mount', ['-o', 'remount,ro', mounted], { stdio: 'pipe' });
    else chmodSync(path, 0o444);
    await use(path);
  } finally {
    if (mounted) execFileSync('umount', [mounted], { stdio: 'pipe' });
  }
}
