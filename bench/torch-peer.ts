/**
 * @module bench/torch-peer — the PyTorch peer of the tensor benches: finds a Python with torch, runs one case of
 * bench/torch_peer.py in it (a process per case and thread count), and prints autointerp's throughput beside
 * PyTorch's as a ratio, in a Markdown table, with the torch build, its BLAS, its threads and the machine's load.
 *
 * PyTorch is never a dependency of the product: without it the benches print one "skipped" line.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from './timing.ts';

/** What bench/torch_peer.py prints (one JSON line). */
export interface TorchPeerOutput {
  torch: string;
  /** The BLAS / LAPACK libraries mapped into the process (realpaths). */
  blas: string[];
  /** The BLAS lines of torch.__config__.show(). */
  blasInfo: string;
  /** torch.get_num_threads() before the script set it. */
  defaultThreads: number;
  /** The intra-op threads the case ran with (OMP and OpenBLAS threads set to the same). */
  threads: number;
  cpuCount: number;
  /** Each timed iteration, after the warm-up. */
  milliseconds: number[];
}

/** A Python that imports torch, or why there is none. */
export type TorchPython = { python: string } | { skipped: string };

/** The line the benches print when torch is missing. */
export const TORCH_MISSING = 'PyTorch peer skipped: python3-torch not installed';

/** Where to look for a Python with torch: $AUTOINTERP_TORCH_PYTHON, python3 on PATH, then Debian's /usr/bin/python3. */
export function torchPythonCandidates(environment: Readonly<Record<string, string | undefined>>): string[] {
  const candidates = [environment.AUTOINTERP_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  return [...new Set(candidates)];
}

/** The first candidate whose `import torch` succeeds. */
export function findTorchPython(candidates: readonly string[]): TorchPython {
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.status === 0) return { python };
  }
  return {
    skipped: `${TORCH_MISSING} (no \`import torch\` in ${candidates.join(', ')}; Debian: apt-get install python3-torch libopenblas0-pthread, or set AUTOINTERP_TORCH_PYTHON)`,
  };
}

/** The Python a bench's PyTorch peer runs in: none when `--skip-torch` was given, else the first with torch. */
export function torchPeerPython(
  skipTorch: boolean,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): TorchPython {
  return skipTorch
    ? { skipped: 'PyTorch peer skipped (--skip-torch)' }
    : findTorchPython(torchPythonCandidates(environment));
}

/** Parses the last line of bench/torch_peer.py's output; throws naming what is missing. */
export function parseTorchPeerOutput(stdout: string): TorchPeerOutput {
  const last = stdout.trim().split('\n').pop() ?? '';
  let parsed: Partial<TorchPeerOutput>;
  try {
    parsed = JSON.parse(last) as Partial<TorchPeerOutput>;
  } catch {
    throw new Error(`bench/torch_peer.py printed no JSON line (last line: ${JSON.stringify(last.slice(0, 200))})`);
  }
  if (typeof parsed.torch !== 'string' || !Array.isArray(parsed.milliseconds) || parsed.milliseconds.length === 0)
    throw new Error('bench/torch_peer.py: its JSON line has no "torch" version or no "milliseconds"');
  return parsed as TorchPeerOutput;
}

const peerScript = fileURLToPath(new URL('./torch_peer.py', import.meta.url));

/** Runs one case of bench/torch_peer.py (`spec`: its JSON, `threads` included) and returns its output. */
export function runTorchPeer(python: string, spec: Record<string, unknown>): TorchPeerOutput {
  const result = spawnSync(python, [peerScript, JSON.stringify(spec)], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  if (result.error) throw new Error(`${python} bench/torch_peer.py could not run: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(
      `${python} bench/torch_peer.py failed: ${(result.stderr || result.stdout).trim().split('\n').pop()}`,
    );
  return parseTorchPeerOutput(result.stdout);
}

/** One case run by PyTorch at each thread count: its timed iterations per count, and the first run's build. */
export interface PeerTimings {
  torch: { threads: number; milliseconds: number[] }[];
  build: TorchPeerOutput;
}

/** Runs one case of bench/torch_peer.py (`spec`: its JSON without `threads`) once per thread count, in turn. */
export function runTorchPeerAtThreadCounts(
  python: string,
  spec: Record<string, unknown>,
  threadCounts: readonly number[],
): PeerTimings {
  const outputs = threadCounts.map((threads) => runTorchPeer(python, { ...spec, threads }));
  return {
    torch: outputs.map((output) => ({ threads: output.threads, milliseconds: output.milliseconds })),
    build: outputs[0]!,
  };
}

/** Thread counts PyTorch runs with: 1 (as tfjs-wasm in Node, which is single-threaded), then every CPU when more. */
export function peerThreadCounts(cpus: number): number[] {
  return cpus > 1 ? [1, cpus] : [1];
}

/** One row of the table: a case's autointerp throughput and PyTorch's at each thread count. */
export interface PeerRow {
  name: string;
  /** What one iteration processes, in the unit of `unit` (tokens of a forward pass, rows of a training step). */
  itemsPerIteration: number;
  autointerpMilliseconds: number[];
  /** autointerp with the batch's rows split across N forward workers (subject/parallel-forward.ts), when measured. */
  autointerpWorkers?: { workers: number; milliseconds: number[] } | null;
  /** Per PyTorch thread count, its timed iterations; absent where PyTorch did not run the case. */
  torch: { threads: number; milliseconds: number[] }[] | null;
}

const rate = (items: number, milliseconds: readonly number[]) => (items / median(milliseconds)) * 1000;

function formatRate(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/**
 * The Markdown table of the rows: per case autointerp's tokens/s, PyTorch's at each thread count, and autointerp /
 * PyTorch (> 1: autointerp faster). Medians of the timed iterations. When rows measured autointerp on N workers, two
 * more columns: its tokens/s (after autointerp's) and, last, its ratio to PyTorch with N threads.
 */
export function formatPeerTable(rows: readonly PeerRow[], threadCounts: readonly number[], unit = 'tokens/s'): string {
  const workers = rows.find((row) => row.autointerpWorkers)?.autointerpWorkers?.workers ?? null;
  const header = [
    'case',
    `autointerp ${unit}`,
    ...(workers === null ? [] : [`autointerp ${workers} workers`, `${workers} workers / 1`]),
    ...threadCounts.flatMap((threads) => [
      `PyTorch ${threads} thread${threads === 1 ? '' : 's'}`,
      `autointerp / PyTorch ${threads}t`,
    ]),
    ...(workers === null ? [] : [`autointerp ${workers} workers / PyTorch ${workers}t`]),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const ours = rate(row.itemsPerIteration, row.autointerpMilliseconds);
    const parallel = row.autointerpWorkers ? rate(row.itemsPerIteration, row.autointerpWorkers.milliseconds) : null;
    const cells = [row.name, formatRate(ours)];
    if (workers !== null)
      cells.push(...(parallel === null ? ['—', '—'] : [formatRate(parallel), `${(parallel / ours).toFixed(2)}×`]));
    for (const threads of threadCounts) {
      const peer = row.torch?.find((entry) => entry.threads === threads);
      if (!peer) {
        cells.push('—', '—');
        continue;
      }
      const theirs = rate(row.itemsPerIteration, peer.milliseconds);
      cells.push(formatRate(theirs), `${(ours / theirs).toFixed(2)}×`);
    }
    if (workers !== null) {
      const peer = row.torch?.find((entry) => entry.threads === workers);
      cells.push(
        parallel === null || !peer ? '—' : `${(parallel / rate(row.itemsPerIteration, peer.milliseconds)).toFixed(2)}×`,
      );
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The torch build in one line: version, BLAS (torch's config and the library actually loaded), default threads. */
export function describeTorchBuild(output: TorchPeerOutput): string {
  const libraries = output.blas.filter((path) => !/lapack/i.test(path));
  const loaded = libraries.length > 0 ? libraries.join(', ') : 'no BLAS library mapped';
  return `torch ${output.torch} · ${output.blasInfo} · BLAS loaded: ${loaded} · torch.get_num_threads() default ${output.defaultThreads} of ${output.cpuCount} CPUs`;
}

/** The machine's load, as os.loadavg() gives it: 1, 5 and 15 minute averages on N CPUs. */
export function describeLoad(averages: readonly number[] = loadavg(), cpus = availableParallelism()): string {
  return `load average ${averages.map((value) => value.toFixed(2)).join(' / ')} (1 / 5 / 15 min) on ${cpus} CPUs`;
}
