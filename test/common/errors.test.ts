/**
 * One error hierarchy (common/errors.ts): every error class src/ exports derives from AutointerpError, so the CLI can
 * tell the user's input (InputError, exit 2) and expected failures from bugs (exit 70) in one place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AutointerpError, InputError } from '../../src/common/errors.ts';

const sourceRoot = join(import.meta.dirname, '../../src');

/** Every .ts file under src/, relative to it. */
function sourceFiles(directory = sourceRoot): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(sourceRoot, path)] : [];
  });
}

/** A class declared `export class X extends …` (a cheap filter: the module's exports are checked after importing it). */
const EXPORTED_SUBCLASS = /^export (?:abstract )?class \w+ extends /m;

describe('the error hierarchy', () => {
  it('InputError is an AutointerpError, and both keep their cause', () => {
    const cause = new Error('inner');
    const error = new InputError('outer', { cause });
    expect(error).toBeInstanceOf(AutointerpError);
    expect(error).toBeInstanceOf(Error);
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('InputError');
    expect(new AutointerpError('x').name).toBe('AutointerpError');
  });

  it('every exported error class of src/ derives from AutointerpError', async () => {
    const candidates = sourceFiles().filter((file) =>
      EXPORTED_SUBCLASS.test(readFileSync(join(sourceRoot, file), 'utf8')),
    );
    const errorClasses: string[] = [];
    const outside: string[] = [];
    for (const file of candidates) {
      const module = (await import(join(sourceRoot, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
        errorClasses.push(`${file}: ${name}`);
        if (!(value.prototype instanceof AutointerpError) && value !== AutointerpError)
          outside.push(`${file}: ${name}`);
      }
    }
    expect(outside).toEqual([]);
    // The scan found the classes (a broken filter would pass vacuously).
    expect(errorClasses.length).toBeGreaterThanOrEqual(25);
  }, 60_000);
});
