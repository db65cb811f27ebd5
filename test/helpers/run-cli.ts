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
}

/** The real launcher, for the tests that must spawn a process. */
export const autointerpBinary = fileURLToPath(new URL('../../bin/autointerp.js', import.meta.url));

/** The environment every CLI test starts from: no real provider keys, so nothing can reach a paid API. */
const offlineEnvironment: Record<string, string | undefined> = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };

let queue: Promise<unknown> = Promise.resolve();

/** Runs `autointerp <args>` in-process and resolves to its exit code and captured output. */
export function cli(args: readonly string[], options: CliCallOptions = {}): Promise<CliResult> {
  const call = queue.then(() => runCaptured(args, options));
  queue = call.catch(() => undefined);
  return call;
}

type Write = typeof process.stdout.write;

async function runCaptured(args: readonly string[], options: CliCallOptions): Promise<CliResult> {
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
  try {
    const code = await runCli(args);
    return { code, ...output };
  } finally {
    process.stdout.write = originalWrites.stdout;
    process.stderr.write = originalWrites.stderr;
    Object.assign(console, consoleBefore);
    process.chdir(folderBefore);
    for (const [name, value] of environmentBefore) setVariable(name, value);
  }
}

function setVariable(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
