/**
 * @module subject/backend — picks the tfjs backend at run time (docs/DESIGN.md §5):
 * `@tensorflow/tfjs-node-gpu` → `@tensorflow/tfjs-node` → `@tensorflow/tfjs-backend-wasm` → the plain cpu backend.
 *
 * The node packages are optional dependencies (their install downloads libtensorflow, which fails on machines without
 * network access); they are imported dynamically and skipped when absent or broken. The wasm backend runs with SIMD on
 * one thread in Node: its multi-threaded build starts workers from `blob:` URLs, which Node's worker_threads refuse
 * (checked with tfjs 4.22), so `WASM_HAS_MULTITHREAD_SUPPORT` is false there.
 *
 * Entry points print `describeBackendChoice`: one short line with the backend and, in a few words, why faster ones
 * are absent (the full errors with `--verbose`). A backend asked for by name that cannot start raises
 * `BackendUnavailableError`, whose message is one line (the package is not installed, or its first error line).
 */
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../common/errors.ts';

export type BackendPreference = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const backendPreferences: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/** A backend that was tried and could not start: its package was absent, or it failed. */
export interface UnavailableBackend {
  name: Exclude<BackendPreference, 'auto'>;
  /** The npm package it needs. */
  packageName: string;
  /** `not installed` when the package cannot be found (the optional node packages usually), else `failed`. */
  reason: 'not installed' | 'failed';
  /** The first line of the error, for `--verbose`. */
  detail: string;
}

export interface BackendChoice {
  /** tfjs backend name: "tensorflow" (tfjs-node or tfjs-node-gpu), "wasm" or "cpu". */
  backend: string;
  /** What was loaded, for the user: e.g. "wasm (SIMD, 1 thread)". */
  description: string;
  /** Backends that were tried before this one, each as `name: first line of its error`. */
  skipped: string[];
  /** The same backends, by name, package and reason (`describeBackendChoice` prints them). */
  unavailable: UnavailableBackend[];
}

/** Raised when the backend asked for (`--backend`) cannot start, or none can; the message is one line for the user. */
export class BackendUnavailableError extends InputError {
  override readonly name = 'BackendUnavailableError';
  constructor(
    message: string,
    readonly unavailable: readonly UnavailableBackend[],
  ) {
    super(message);
  }
}

/** The npm package behind each backend. */
export const backendPackages: Record<Exclude<BackendPreference, 'auto'>, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

type Loader = () => Promise<string>;

async function loadNode(packageName: string): Promise<string> {
  await import(/* @vite-ignore */ packageName);
  if (!(await tf.setBackend('tensorflow')))
    throw new Error(`${packageName} loaded but the "tensorflow" backend failed to start`);
  return packageName === '@tensorflow/tfjs-node-gpu'
    ? 'tensorflow (tfjs-node-gpu, CUDA)'
    : 'tensorflow (tfjs-node, CPU)';
}

async function loadWasm(): Promise<string> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to start');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
}

async function loadCpu(): Promise<string> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
  return 'cpu (plain JavaScript, slow)';
}

const loaders: Record<Exclude<BackendPreference, 'auto'>, Loader> = {
  'node-gpu': () => loadNode(backendPackages['node-gpu']),
  node: () => loadNode(backendPackages.node),
  wasm: loadWasm,
  cpu: loadCpu,
};

let current: Promise<BackendChoice> | null = null;
let currentPreference: BackendPreference | null = null;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Whether an import failed because the package is not there (as opposed to failing while it loads). */
function isMissingPackage(error: unknown, packageName: string): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)/.test(message)) &&
    message.includes(packageName)
  );
}

function unavailableBackend(name: Exclude<BackendPreference, 'auto'>, error: unknown): UnavailableBackend {
  const packageName = backendPackages[name];
  return {
    name,
    packageName,
    reason: isMissingPackage(error, packageName) ? 'not installed' : 'failed',
    detail: firstLine(error),
  };
}

/** The one-line error for an explicit `--backend` that could not start. */
function explicitBackendMessage(backend: UnavailableBackend): string {
  if (backend.reason === 'not installed') {
    const needs = backend.name === 'node-gpu' ? ' (Linux, with CUDA and cuDNN)' : '';
    return `--backend ${backend.name}: ${backend.packageName} is not installed; it is an optional dependency: npm install ${backend.packageName}${needs}, or choose --backend auto`;
  }
  return `--backend ${backend.name}: ${backend.packageName} could not start (${backend.detail}); choose --backend auto`;
}

async function choose(preference: BackendPreference): Promise<BackendChoice> {
  // tfjs-core registers no gradients; the union package's Node bundle registers all of them (into tfjs-core's global
  // registry). Loaded here, lazily, because it takes about a second and only model code needs it.
  await import('@tensorflow/tfjs');
  const order: Exclude<BackendPreference, 'auto'>[] =
    preference === 'auto' ? ['node-gpu', 'node', 'wasm', 'cpu'] : [preference];
  const unavailable: UnavailableBackend[] = [];
  for (const name of order) {
    try {
      const description = await loaders[name]();
      await tf.ready();
      return {
        backend: tf.getBackend(),
        description,
        skipped: unavailable.map((b) => `${b.name}: ${b.detail}`),
        unavailable,
      };
    } catch (error) {
      unavailable.push(unavailableBackend(name, error));
    }
  }
  if (preference !== 'auto') throw new BackendUnavailableError(explicitBackendMessage(unavailable[0]!), unavailable);
  throw new BackendUnavailableError(
    `no tfjs backend could start (${unavailable.map((b) => `${b.name}: ${b.detail}`).join('; ')})`,
    unavailable,
  );
}

/**
 * The line that says which backend runs: `backend: wasm (SIMD, 1 thread)`, and when faster ones were tried first,
 * why they are absent in a few words (`tfjs-node-gpu, tfjs-node not installed (optional)`); with `verbose`, one more
 * line per absent backend with its error.
 */
export function describeBackendChoice(choice: BackendChoice, verbose = false): string {
  const groups = new Map<string, string[]>();
  for (const backend of choice.unavailable) {
    const label = backend.reason === 'not installed' ? 'not installed (optional)' : 'failed to start';
    groups.set(label, [...(groups.get(label) ?? []), backend.packageName.replace('@tensorflow/', '')]);
  }
  const why = [...groups].map(([label, names]) => `${names.join(', ')} ${label}`).join('; ');
  const line = `backend: ${choice.description}${why ? `; faster ones absent: ${why}${verbose ? '' : ' (--verbose for details)'}` : ''}`;
  if (!verbose) return line;
  return [line, ...choice.unavailable.map((backend) => `  ${backend.name}: ${backend.detail}`)].join('\n');
}

/**
 * Starts the tfjs backend once per process ("auto" tries them in the order of docs/DESIGN.md §5) and returns what was chosen. A second
 * call with another explicit preference switches backends; with the same or "auto" it returns the first choice.
 */
export function initBackend(preference: BackendPreference = 'auto'): Promise<BackendChoice> {
  if (current && (preference === 'auto' || preference === currentPreference)) return current;
  currentPreference = preference;
  current = choose(preference);
  current.catch(() => {
    current = null;
  });
  return current;
}

/**
 * For benchmarks and scripts, which have no CLI error handler: `initBackend`, or, when the backend cannot start, its
 * one-line reason on stderr and exit code 2 (not a stack trace).
 */
export async function initBackendOrExit(preference: BackendPreference = 'auto'): Promise<BackendChoice> {
  try {
    return await initBackend(preference);
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

export { tf };
