/**
 * @module subject/backend — picks the tfjs backend at run time (DESIGN §5):
 * `@tensorflow/tfjs-node-gpu` → `@tensorflow/tfjs-node` → `@tensorflow/tfjs-backend-wasm` → the plain cpu backend.
 *
 * The node packages are optional dependencies (their install downloads libtensorflow, which fails on machines without
 * network access); they are imported dynamically and skipped when absent or broken. The wasm backend runs with SIMD on
 * one thread in Node: its multi-threaded build starts workers from `blob:` URLs, which Node's worker_threads refuse
 * (checked with tfjs 4.22), so `WASM_HAS_MULTITHREAD_SUPPORT` is false there.
 */
import * as tf from '@tensorflow/tfjs-core';

export type BackendPreference = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const backendPreferences: readonly BackendPreference[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

export interface BackendChoice {
  /** tfjs backend name: "tensorflow" (tfjs-node or tfjs-node-gpu), "wasm" or "cpu". */
  backend: string;
  /** What was loaded, for the user: e.g. "wasm (SIMD, 1 thread)". */
  description: string;
  /** Backends that were tried before this one, each with why it was skipped. */
  skipped: string[];
}

type Loader = () => Promise<string>;

async function loadNode(packageName: string): Promise<string> {
  await import(/* @vite-ignore */ packageName);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${packageName} loaded but the "tensorflow" backend failed to start`);
  return packageName === '@tensorflow/tfjs-node-gpu' ? 'tensorflow (tfjs-node-gpu, CUDA)' : 'tensorflow (tfjs-node, CPU)';
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
  'node-gpu': () => loadNode('@tensorflow/tfjs-node-gpu'),
  node: () => loadNode('@tensorflow/tfjs-node'),
  wasm: loadWasm,
  cpu: loadCpu,
};

let current: Promise<BackendChoice> | null = null;
let currentPreference: BackendPreference | null = null;

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

async function choose(preference: BackendPreference): Promise<BackendChoice> {
  // tfjs-core registers no gradients; the union package's Node bundle registers all of them (into tfjs-core's global
  // registry). Loaded here, lazily, because it takes about a second and only model code needs it.
  await import('@tensorflow/tfjs');
  const order: Exclude<BackendPreference, 'auto'>[] =
    preference === 'auto' ? ['node-gpu', 'node', 'wasm', 'cpu'] : [preference];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      const description = await loaders[name]();
      await tf.ready();
      return { backend: tf.getBackend(), description, skipped };
    } catch (error) {
      skipped.push(`${name}: ${firstLine(error)}`);
    }
  }
  throw new Error(`no tfjs backend could start (${skipped.join('; ')})`);
}

/**
 * Starts the tfjs backend once per process ("auto" tries them in DESIGN order) and returns what was chosen. A second
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

export { tf };
