/**
 * @module subject/worker-pool — a fixed set of node:worker_threads workers, each holding its own state (a tfjs
 * backend and a model's weights: ./forward-worker.ts), and the request/response protocol between them.
 *
 * The main thread sends a request to one worker and gets a promise of its response; typed arrays travel as
 * transferables (moved, not copied). A worker's request that throws rejects that request only; a worker that dies (an
 * uncaught exception, `process.exit`, a failed start) rejects every request it holds and every later one, naming the
 * worker and why: a caller never waits on a worker that is gone. `close()` terminates the workers, after which the
 * process can exit.
 *
 * A TypeScript worker module (running from src/ through tsx or vitest) is started through a one-line bootstrap that
 * registers tsx's loader in the worker first (Node 20's workers do not inherit a loader registered with
 * `module.register`); a JavaScript one (dist/) starts directly.
 *
 * Hand-written rather than piscina (not a dependency): the pool needs per-worker state loaded once, requests sent to
 * a chosen worker (a batch per worker, or a batch's rows split across all of them), and nothing else.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AutointerpError } from '../common/errors.ts';

/** A worker that failed to start, died, or whose request threw; the message names the worker. */
export class WorkerPoolError extends AutointerpError {
  override readonly name = 'WorkerPoolError';
}

/** What the main thread sends: one request, numbered. */
interface RequestMessage {
  id: number;
  request: unknown;
}

/** What a worker sends: ready after its start, or the answer to one request. */
type WorkerMessage =
  | { type: 'ready'; info: unknown }
  | { type: 'start-failed'; error: string }
  | { type: 'response'; id: number; response: unknown }
  | { type: 'request-failed'; id: number; error: string };

interface PendingRequest {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface PoolMember {
  worker: Worker;
  pending: Map<number, PendingRequest>;
  /** Why this worker can take no more requests (null while it is alive). */
  failure: WorkerPoolError | null;
}

export interface WorkerPoolOptions {
  /** The worker module (it calls `serveWorkerRequests`). */
  entry: URL;
  /** Workers to start (≥ 1). */
  size: number;
  /** Given to every worker's start function (`workerData`); SharedArrayBuffers in it are shared, not copied. */
  data: unknown;
  /** A name for messages: e.g. "forward worker". */
  label: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The worker's source: its URL for a JavaScript module; for a TypeScript one, a bootstrap that registers tsx's ESM
 * loader in the worker and then imports it.
 */
function workerSource(entry: URL): { source: string | URL; eval: boolean } {
  if (!entry.pathname.endsWith('.ts')) return { source: entry, eval: false };
  // tsx/esm/api resolves to its CommonJS build through require; its ES module sits beside it.
  const api = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  const source = `import(${JSON.stringify(pathToFileURL(api).href)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return { source, eval: true };
}

/** A fixed pool of workers running one module; requests go to a chosen worker. */
export class WorkerPool<Request, Response, Info = unknown> {
  private nextId = 0;
  private closed = false;

  private constructor(
    private readonly members: PoolMember[],
    /** What each worker's start function returned (e.g. its backend), by worker. */
    readonly info: readonly Info[],
    private readonly label: string,
  ) {}

  /** Starts `size` workers and waits until each has run its start function; rejects (and stops them all) if one fails. */
  static async start<Request, Response, Info = unknown>(
    options: WorkerPoolOptions,
  ): Promise<WorkerPool<Request, Response, Info>> {
    if (!(Number.isInteger(options.size) && options.size >= 1))
      throw new WorkerPoolError(
        `${options.label}s: the number of workers must be a positive integer, got ${options.size}`,
      );
    const { source, eval: isEval } = workerSource(options.entry);
    const members: PoolMember[] = [];
    const ready: Promise<Info>[] = [];
    for (let index = 0; index < options.size; index++) {
      const worker = new Worker(source, { eval: isEval, workerData: options.data });
      const member: PoolMember = { worker, pending: new Map(), failure: null };
      members.push(member);
      const name = `${options.label} ${index + 1} of ${options.size}`;
      ready.push(
        new Promise<Info>((resolve, reject) => {
          let started = false;
          const fail = (why: string) => {
            if (member.failure) return;
            member.failure = new WorkerPoolError(`${name} ${why}`);
            for (const request of member.pending.values()) request.reject(member.failure);
            member.pending.clear();
            if (!started) reject(member.failure);
          };
          worker.on('message', (message: WorkerMessage) => {
            if (message.type === 'ready') {
              started = true;
              resolve(message.info as Info);
            } else if (message.type === 'start-failed') {
              fail(`failed to start: ${message.error}`);
            } else {
              const request = member.pending.get(message.id);
              if (!request) return;
              member.pending.delete(message.id);
              if (message.type === 'response') request.resolve(message.response);
              else request.reject(new WorkerPoolError(`${name}: ${message.error}`));
            }
          });
          worker.on('error', (error) => fail(`failed: ${messageOf(error)}`));
          worker.on('messageerror', (error) => fail(`sent a message that could not be read: ${messageOf(error)}`));
          worker.on('exit', (code) => fail(`exited (code ${code})`));
        }),
      );
    }
    let info: Info[];
    try {
      info = await Promise.all(ready);
    } catch (error) {
      await Promise.all(members.map((member) => member.worker.terminate()));
      throw error;
    }
    return new WorkerPool<Request, Response, Info>(members, info, options.label);
  }

  /** The number of workers. */
  get size(): number {
    return this.members.length;
  }

  /** Requests in flight on each worker. */
  load(): number[] {
    return this.members.map((member) => member.pending.size);
  }

  /** The index of the worker with the fewest requests in flight (the lowest index on a tie). */
  leastBusy(): number {
    const load = this.load();
    return load.indexOf(Math.min(...load));
  }

  /** Sends one request to worker `index`; `transfer` lists the buffers moved to it (unusable here afterwards). */
  run(index: number, request: Request, transfer: readonly ArrayBuffer[] = []): Promise<Response> {
    const member = this.members[index];
    if (!member) return Promise.reject(new WorkerPoolError(`${this.label}: no worker ${index + 1} (${this.size})`));
    if (this.closed) return Promise.reject(new WorkerPoolError(`${this.label}s: the pool is closed`));
    if (member.failure) return Promise.reject(member.failure);
    const id = this.nextId++;
    return new Promise<Response>((resolve, reject) => {
      member.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const message: RequestMessage = { id, request };
      member.worker.postMessage(message, [...transfer]);
    });
  }

  /** Terminates every worker; requests still in flight reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [index, member] of this.members.entries()) {
      const failure = new WorkerPoolError(`${this.label} ${index + 1}: the pool was closed`);
      member.failure ??= failure;
      for (const request of member.pending.values()) request.reject(failure);
      member.pending.clear();
    }
    await Promise.all(this.members.map((member) => member.worker.terminate()));
  }
}

/** A worker's answer: the response and the buffers to move back with it. */
export interface WorkerAnswer<Response> {
  response: Response;
  transfer?: ArrayBuffer[];
}

/**
 * The worker side: runs `start(workerData)` once (its failure is reported, and the worker ends), says ready with what
 * it returned, then answers each request with `handle(state, request)`, one at a time in arrival order. A request
 * that throws is answered with its error; the worker goes on.
 */
export function serveWorkerRequests<State, Request, Response, Info>(
  start: (data: unknown) => Promise<{ state: State; info: Info }>,
  handle: (state: State, request: Request) => Promise<WorkerAnswer<Response>> | WorkerAnswer<Response>,
): void {
  if (isMainThread || !parentPort) throw new Error('serveWorkerRequests: not in a worker thread');
  const port = parentPort;
  const send = (message: WorkerMessage, transfer: readonly ArrayBuffer[] = []) =>
    port.postMessage(message, [...transfer]);
  let queue: Promise<void> = Promise.resolve();
  start(workerData)
    .then(({ state, info }) => {
      port.on('message', ({ id, request }: RequestMessage) => {
        queue = queue.then(async () => {
          try {
            const answer = await handle(state, request as Request);
            send({ type: 'response', id, response: answer.response }, answer.transfer);
          } catch (error) {
            send({ type: 'request-failed', id, error: messageOf(error) });
          }
        });
      });
      send({ type: 'ready', info });
    })
    .catch((error: unknown) => {
      send({ type: 'start-failed', error: messageOf(error) });
      port.close();
    });
}
