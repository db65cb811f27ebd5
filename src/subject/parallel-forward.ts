/**
 * @module subject/parallel-forward — data-parallel forward passes on worker threads: a pool of workers
 * (./forward-worker.ts), each with its own tfjs backend and its own copy of the model, built once from weights shared
 * by every worker (./shared-weights.ts).
 *
 * Why: the wasm backend runs on one thread in Node (./backend.ts), so one process uses one core; a worker per core
 * runs one backend per core. Two ways to use them: a whole batch on the least busy worker (extraction runs batch i on
 * one worker while batch i + 1 runs on the next: the same per-batch computation as on the main thread, so the same
 * bytes), or one batch's rows split across every worker (each row's numbers come from the same per-row computation;
 * the products' row count differs, so they agree with one worker to float tolerance).
 *
 * Only the wasm and cpu backends: tfjs-node already runs its kernels on every core.
 */
import { InputError } from '../common/errors.ts';
import type { ForwardRequest, ForwardResponse, ForwardWorkerData } from './forward-worker.ts';
import { shareWeights } from './shared-weights.ts';
import type { Gpt2Config, Gpt2Weights } from './types.ts';
import { WorkerPool } from './worker-pool.ts';

export interface ForwardPoolOptions {
  config: Gpt2Config;
  /** Host weights (Hugging Face names); copied once into a buffer every worker shares. */
  weights: Gpt2Weights;
  /** Workers to start (≥ 1). */
  workers: number;
  /** The tfjs backend of the main thread (`tf.getBackend()`): each worker starts the same one. */
  backend: string;
}

/** The worker module beside this one: TypeScript when running from src/, JavaScript from dist/. */
const workerEntry = new URL(`./forward-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** The backend the workers start for a main thread's backend; tfjs-node (already multi-threaded) is refused. */
export function workerBackend(backend: string): ForwardWorkerData['backend'] {
  if (backend === 'wasm' || backend === 'cpu') return backend;
  throw new InputError(
    `--workers: forward workers run the wasm or cpu backend, not "${backend}" (which already uses every core); use --workers 1, or --backend wasm`,
  );
}

/** `rows` split into at most `parts` contiguous shares as equal as possible, larger first; empty shares left out. */
export function rowShares(rows: number, parts: number): { first: number; count: number }[] {
  const shares: { first: number; count: number }[] = [];
  let first = 0;
  for (let part = 0; part < parts; part++) {
    const count = Math.floor(rows / parts) + (part < rows % parts ? 1 : 0);
    if (count > 0) shares.push({ first, count });
    first += count;
  }
  return shares;
}

/** A pool of forward workers over one model. */
export class ForwardPool {
  private constructor(
    private readonly pool: WorkerPool<ForwardRequest, ForwardResponse, string>,
    /** The configuration of the model every worker built. */
    readonly config: Gpt2Config,
  ) {}

  /** Starts the workers; each loads the backend and builds the model before this resolves. */
  static async start(options: ForwardPoolOptions): Promise<ForwardPool> {
    const data: ForwardWorkerData = {
      config: options.config,
      weights: shareWeights(options.weights),
      backend: workerBackend(options.backend),
    };
    const pool = await WorkerPool.start<ForwardRequest, ForwardResponse, string>({
      entry: workerEntry,
      size: options.workers,
      data,
      label: 'forward worker',
    });
    return new ForwardPool(pool, { ...options.config });
  }

  get size(): number {
    return this.pool.size;
  }

  /** Each worker's backend, as initBackend described it. */
  get backends(): readonly string[] {
    return this.pool.info;
  }

  /**
   * The activation at `hook` of a whole batch ([rows, length, width] row-major; `ids` row-major, moved to the worker),
   * run on the least busy worker.
   */
  hookActivations(ids: Int32Array, rows: number, hook: string): Promise<Float32Array> {
    return this.pool.run(this.pool.leastBusy(), { kind: 'hook', ids, rows, hook }, [
      ids.buffer as ArrayBuffer,
    ]) as Promise<Float32Array>;
  }

  /** The same activation with the batch's rows split across the workers, put back together in row order. */
  async splitHookActivations(ids: Int32Array, rows: number, hook: string): Promise<Float32Array> {
    const length = ids.length / rows;
    const parts = await Promise.all(
      rowShares(rows, this.size).map(({ first, count }, worker) => {
        const share = ids.slice(first * length, (first + count) * length);
        return this.pool.run(worker, { kind: 'hook', ids: share, rows: count, hook }, [
          share.buffer,
        ]) as Promise<Float32Array>;
      }),
    );
    if (parts.length === 1) return parts[0]!;
    const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Σ of the logits of a forward pass, the batch's rows split across the workers (the benches' pass ending in one number). */
  async splitLogitSum(ids: Int32Array, rows: number): Promise<number> {
    const length = ids.length / rows;
    const sums = await Promise.all(
      rowShares(rows, this.size).map(({ first, count }, worker) => {
        const share = ids.slice(first * length, (first + count) * length);
        return this.pool.run(worker, { kind: 'logit-sum', ids: share, rows: count }, [share.buffer]) as Promise<number>;
      }),
    );
    return sums.reduce((sum, value) => sum + value, 0);
  }

  /** Terminates the workers (requests in flight reject). */
  close(): Promise<void> {
    return this.pool.close();
  }
}
