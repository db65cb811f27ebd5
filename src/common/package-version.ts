/**
 * @module common/package-version — autointerp's version, read once from package.json (its one source): the CLI's
 * `--version` and the code version stored with each run.
 */
import { readFileSync } from 'node:fs';

/** The `version` of package.json, e.g. `0.1.0`. */
export const packageVersion: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The code version stored with each run (`runs.code_version`): `autointerp@<version>`. */
export const codeVersion = `autointerp@${packageVersion}`;
