/**
 * @module scripts/replace-folder — puts a finished folder in the place of another by two renames (the old one moved
 * aside, the new one moved in, the old one removed), so that no reader ever sees a half-written folder: the place is
 * empty only between the two renames. scripts/build-dist.ts swaps a new build in with it.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';

/** Moves `next` to `target`, replacing what was there (moved to `aside` first, then removed). */
export function replaceFolder(next: string, target: string, aside: string): void {
  if (!existsSync(next)) throw new Error(`replaceFolder: ${next} does not exist; ${target} left as it is`);
  rmSync(aside, { recursive: true, force: true });
  let hadPrevious = true;
  try {
    renameSync(target, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    hadPrevious = false;
  }
  renameSync(next, target);
  if (hadPrevious) rmSync(aside, { recursive: true, force: true });
}
