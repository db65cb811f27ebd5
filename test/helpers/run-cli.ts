/**
 * @module test/helpers/run-cli — runs an `autointerp` command line in this test process (no spawned tsx): the
 * program's stdout and stderr writes (process.stdout/stderr.write and console) are captured, the environment and
 * working folder are set for the call and restored after it. Calls are queued one at a time, as they share the
 * process's streams, environment and folder. Spawn the real binary (`autointerpBinary`) only where the test is about
 * the process itself: its exit code as the shell sees it, signals, kill -9, or a command that serves until stopped.
 */
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { runCli } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliCallOptions {
  /** Working folder for the call (default: this process's). */
  cwd?: string;
  /** Environment variables set for the call; undefined removes one. Restored afterwards. */
  env?: Record<string, string | undefined>;
  /**
   * A hang guard: a call still running after this many milliseconds (default CLI_HANG_TIMEOUT_MS) rejects, naming its
   * command line, and frees the queue, so that one hung command does not block every later call of the worker.
   */
  timeoutMs?: number;
}

/** A hang guard, not a time limit: generous beside the longest in-process command (a demo run, loaded machine). */
export const CLI_HANG_TIMEOUT_MS = 300_000;

/** The real launcher, for the tests that must spawn a process. */
export const autointerpBinary = fileURLToPath(new URL('../../bin/autointerp.js', import.meta.url));

/** The environment every CLI test starts from: no real provider keys, so nothing can reach a paid API. */
const offlineEnvironment: Record<string, string | undefined> = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };

/** A command-line entry point: `runCli`, or a stand-in in the helper's own tests. */
export type CliEntry = (args: readonly string[]) => Promise<number>;

/** A `cli` function over `entry`: its calls queued one at a time, each under the hang guard. */
export function createCliQueue(
  entry: CliEntry,
): (args: readonly string[], options?: CliCallOptions) => Promise<CliResult> {
  let queue: Promise<unknown> = Promise.resolve();
  return (args, options = {}) => {
    const call = queue.then(() => runGuarded(entry, args, options));
    queue = call.catch(() => undefined);
    return call;
  };
}

/** Runs `autointerp <args>` in-process and resolves to its exit code and captured output. */
export const cli = createCliQueue(runCli);

/** The call, or its rejection once it has run `timeoutMs` (the process's streams, environment, folder given back). */
function runGuarded(entry: CliEntry, args: readonly string[], options: CliCallOptions): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? CLI_HANG_TIMEOUT_MS;
  let restore = () => {};
  const running = runCaptured(entry, args, options, (giveBack) => (restore = giveBack));
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      restore();
      reject(
        new Error(`autointerp ${args.join(' ')}: still running after ${timeoutMs} ms (a hang?); later calls go on`),
      );
    }, timeoutMs);
  });
  return Promise.race([running, hung]).finally(() => clearTimeout(timer));
}

type Write = typeof process.stdout.write;

/** `onStart` receives the function that gives the process back its streams, environment and folder (once). */
async function runCaptured(
  entry: CliEntry,
  args: readonly string[],
  options: CliCallOptions,
  onStart: (restore: () => void) => void,
): Promise<CliResult> {
  const output = { stdout: '', stderr: '' };
  const originalWrites = { stdout: process.stdout.write, stderr: process.stderr.write };
  const capture = (stream: 'stdout' | 'stderr'): Write =>
    ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
      output[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as Write;
  const environment = { ...offlineEnvironment, ...options.env };
  const environmentBefore = new Map(Object.keys(environment).map((name) => [name, process.env[name]]));
  const folderBefore = process.cwd();
  for (const [name, value] of Object.entries(environment)) setVariable(name, value);
  if (options.cwd) process.chdir(options.cwd);
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  const consoleBefore = {
    log: console.log,
    info: console.info,
    debug: console.debug,
    warn: console.warn,
    error: console.error,
  };
  const toStream =
    (stream: 'stdout' | 'stderr') =>
    (...values: unknown[]) =>
      void (output[stream] += `${format(...values)}\n`);
  Object.assign(console, {
    log: toStream('stdout'),
    info: toStream('stdout'),
    debug: toStream('stdout'),
    warn: toStream('stderr'),
    error: toStream('stderr'),
  });
  let restored = false;
  const restore = () => {
    if (restored) return; // given back already (by the hang guard, while this call went on)
    restored = true;
    process.stdout.write = originalWrites.stdout;
    process.stderr.write = originalWrites.stderr;
    Object.assign(console, consoleBefore);
    process.chdir(folderBefore);
    for (const [name, value] of environmentBefore) setVariable(name, value);
  };
  onStart(restore);
  try {
    const code = await entry(args);
    return { code, ...output };
  } finally {
    restore();
  }
}

function setVariable(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
