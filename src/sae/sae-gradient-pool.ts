/**
 * @module sae/sae-gradient-pool — worker threads that compute SAE gradients on shares of a batch
 * (./sae-gradient-worker.ts, one tfjs backend each), for `SaeTrainer.trainStepParallel`.
 *
 * The trainer's weights go to the workers through one SharedArrayBuffer, written once per step (a read back of W_enc
 * and W_decT: 2·d_in·d_sae floats); each worker's gradients come back as moved typed arrays. Only the wasm and cpu
 * backends (tfjs-node already uses every core).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { workerBackend } from '../subject/parallel-forward.ts';
import { WorkerPool } from '../subject/worker-pool.ts';
import {
  type GradientShareContext,
  type HostGradientPass,
  type SaeGradientWorkers,
  sharedSaeWeightFloats,
  sharedSaeWeightViews,
} from './parallel-sae-gradients.ts';
import type { SaeGradientRequest, SaeGradientWorkerData } from './sae-gradient-worker.ts';
import type { SaeConfig } from './types.ts';

export interface SaeGradientPoolOptions {
  sae: Pick<SaeConfig, 'dIn' | 'dSae' | 'architecture' | 'k' | 'applyBDecToInput'>;
  /** Worker threads beside the trainer's (≥ 1): a batch is split into this many shares plus the trainer's own. */
  workers: number;
  /** The tfjs backend of the main thread (`tf.getBackend()`): each worker starts the same one. */
  backend: string;
}

const workerEntry = new URL(`./sae-gradient-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** SAE gradient workers over one shared weight buffer. */
export class SaeGradientPool implements SaeGradientWorkers {
  private constructor(
    private readonly pool: WorkerPool<SaeGradientRequest, HostGradientPass, string>,
    private readonly shared: SharedArrayBuffer,
    private readonly sae: SaeGradientPoolOptions['sae'],
  ) {}

  static async start(options: SaeGradientPoolOptions): Promise<SaeGradientPool> {
    const { dIn, dSae } = options.sae;
    const shared = new SharedArrayBuffer(sharedSaeWeightFloats(dIn, dSae) * Float32Array.BYTES_PER_ELEMENT);
    const sae = {
      dIn,
      dSae,
      architecture: options.sae.architecture,
      applyBDecToInput: options.sae.applyBDecToInput,
      ...(options.sae.k !== undefined ? { k: options.sae.k } : {}),
    };
    const data: SaeGradientWorkerData = { backend: workerBackend(options.backend), sae, weights: shared };
    const pool = await WorkerPool.start<SaeGradientRequest, HostGradientPass, string>({
      entry: workerEntry,
      size: options.workers,
      data,
      label: 'SAE gradient worker',
    });
    return new SaeGradientPool(pool, shared, sae);
  }

  get size(): number {
    return this.pool.size;
  }

  async gradients(
    weights: { W_enc: tf.Tensor2D; b_enc: tf.Tensor1D; W_decT: tf.Tensor2D; b_dec: tf.Tensor1D },
    shares: readonly Float32Array[],
    context: GradientShareContext,
  ): Promise<HostGradientPass[]> {
    const views = sharedSaeWeightViews(this.shared, this.sae.dIn, this.sae.dSae);
    for (const name of ['W_enc', 'b_enc', 'W_decT', 'b_dec'] as const)
      views[name].set(weights[name].dataSync() as Float32Array);
    return Promise.all(
      shares.map((share, index) => {
        const x = share.slice();
        return this.pool.run(index, { x, rows: x.length / this.sae.dIn, context }, [x.buffer]);
      }),
    );
  }

  /** Terminates the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
