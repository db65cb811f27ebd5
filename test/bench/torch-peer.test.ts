/**
 * The pure helpers of the PyTorch peer of the tensor benches (bench/torch-peer.ts): where torch is looked for, the
 * "skipped" line without it, reading bench/torch_peer.py's JSON line, and the ratio table the benches print.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeLoad,
  describeTorchBuild,
  findTorchPython,
  formatPeerTable,
  parseTorchPeerOutput,
  runTorchPeerAtThreadCounts,
  peerThreadCounts,
  TORCH_MISSING,
  type TorchPeerOutput,
  torchPeerPython,
  torchPythonCandidates,
} from '../../bench/torch-peer.ts';
import { median, timeIt } from '../../bench/timing.ts';

const output: TorchPeerOutput = {
  torch: '1.13.0a0',
  blas: [
    '/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3',
    '/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3',
  ],
  blasInfo: 'BLAS_INFO=generic, LAPACK_INFO=generic, USE_MKLDNN=ON',
  defaultThreads: 1,
  threads: 1,
  cpuCount: 2,
  milliseconds: [20, 10, 30],
};

describe('PyTorch peer helpers', () => {
  it('looks for torch in $AUTOINTERP_TORCH_PYTHON, python3 on PATH, then /usr/bin/python3 (no duplicates)', () => {
    expect(torchPythonCandidates({})).toEqual(['python3', '/usr/bin/python3']);
    expect(torchPythonCandidates({ AUTOINTERP_TORCH_PYTHON: '/opt/venv/bin/python' })).toEqual([
      '/opt/venv/bin/python',
      'python3',
      '/usr/bin/python3',
    ]);
    expect(torchPythonCandidates({ AUTOINTERP_TORCH_PYTHON: '/usr/bin/python3' })).toEqual([
      '/usr/bin/python3',
      'python3',
    ]);
  });

  it('without a Python that imports torch, one clear "skipped" line', () => {
    const result = findTorchPython(['/nonexistent/python3-for-this-test']);
    expect(result).toEqual({ skipped: expect.stringContaining(TORCH_MISSING) });
    expect(TORCH_MISSING).toBe('PyTorch peer skipped: python3-torch not installed');
  });

  it('runs a case once per thread count, in turn, with the spec and its thread count', () => {
    // A stand-in for a Python with torch: prints the JSON line bench/torch_peer.py would, echoing the spec it got.
    const python = join(mkdtempSync(join(tmpdir(), 'torch-peer-')), 'python');
    writeFileSync(
      python,
      `#!${process.execPath}\nconst spec = JSON.parse(process.argv[3]);\nconsole.log(JSON.stringify({ ...${JSON.stringify(output)}, threads: spec.threads, milliseconds: [spec.threads, spec.iterations] }));\n`,
    );
    chmodSync(python, 0o755);
    const timings = runTorchPeerAtThreadCounts(python, { kind: 'sae', iterations: 3 }, [1, 4]);
    expect(timings.torch).toEqual([
      { threads: 1, milliseconds: [1, 3] },
      { threads: 4, milliseconds: [4, 3] },
    ]);
    expect(timings.build).toMatchObject({ torch: output.torch, threads: 1 });
  });

  it('with --skip-torch, the benches look for no Python and print why', () => {
    expect(torchPeerPython(true, { AUTOINTERP_TORCH_PYTHON: '/nonexistent/python3-for-this-test' })).toEqual({
      skipped: 'PyTorch peer skipped (--skip-torch)',
    });
  });

  it("the benches' stopwatch: one run per timing, medians of the rounds", () => {
    let runs = 0;
    expect(timeIt(() => void runs++)).toBeGreaterThanOrEqual(0);
    expect(runs).toBe(1);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(3);
  });

  it("reads the script's last line as JSON and names what is wrong otherwise", () => {
    expect(parseTorchPeerOutput(`warming up\n${JSON.stringify(output)}\n`)).toEqual(output);
    expect(() => parseTorchPeerOutput('Traceback: boom')).toThrow(/printed no JSON line .*Traceback/);
    expect(() => parseTorchPeerOutput('{"torch": "1.13"}')).toThrow(/no "milliseconds"/);
  });

  it('PyTorch runs with 1 thread (as tfjs-wasm) and with every CPU', () => {
    expect(peerThreadCounts(1)).toEqual([1]);
    expect(peerThreadCounts(2)).toEqual([1, 2]);
  });

  it('prints a Markdown table of medians: autointerp tokens/s, PyTorch tokens/s per thread count, their ratio', () => {
    const table = formatPeerTable(
      [
        // medians: autointerp 100 ms → 1,280 tokens/s; PyTorch 1 thread 50 ms → 2,560; 2 threads 25 ms → 5,120
        {
          name: 'GPT-2 small, 1×128',
          itemsPerIteration: 128,
          autointerpMilliseconds: [90, 100, 400],
          torch: [
            { threads: 1, milliseconds: [50, 60, 40] },
            { threads: 2, milliseconds: [25] },
          ],
        },
        { name: 'AuxK', itemsPerIteration: 1024, autointerpMilliseconds: [512], torch: null },
      ],
      [1, 2],
    );
    expect(table.split('\n')).toEqual([
      '| case | autointerp tokens/s | PyTorch 1 thread | autointerp / PyTorch 1t | PyTorch 2 threads | autointerp / PyTorch 2t |',
      '|---|---|---|---|---|---|',
      '| GPT-2 small, 1×128 | 1280 | 2560 | 0.50× | 5120 | 0.25× |',
      '| AuxK | 2000 | — | — | — | — |',
    ]);
  });

  it('with autointerp measured on N workers: its tokens/s and speed-up beside autointerp, and its ratio to PyTorch N threads last', () => {
    const table = formatPeerTable(
      [
        // autointerp 100 ms → 1,280 tokens/s; 2 workers 64 ms → 2,000 (1.56×); PyTorch 2 threads 50 ms → 2,560
        {
          name: 'brown-1l, 16×64',
          itemsPerIteration: 128,
          autointerpMilliseconds: [100],
          autointerpWorkers: { workers: 2, milliseconds: [64] },
          torch: [
            { threads: 1, milliseconds: [100] },
            { threads: 2, milliseconds: [50] },
          ],
        },
        {
          name: 'one row',
          itemsPerIteration: 128,
          autointerpMilliseconds: [100],
          autointerpWorkers: null,
          torch: null,
        },
      ],
      [1, 2],
    );
    expect(table.split('\n')).toEqual([
      '| case | autointerp tokens/s | autointerp 2 workers | 2 workers / 1 | PyTorch 1 thread | autointerp / PyTorch 1t | PyTorch 2 threads | autointerp / PyTorch 2t | autointerp 2 workers / PyTorch 2t |',
      '|---|---|---|---|---|---|---|---|---|',
      '| brown-1l, 16×64 | 1280 | 2000 | 1.56× | 1280 | 1.00× | 2560 | 0.50× | 0.78× |',
      '| one row | 1280 | — | — | — | — | — | — | — |',
    ]);
  });

  it('describes the torch build with the BLAS library it loaded, and the load with its CPU count', () => {
    const build = describeTorchBuild(output);
    expect(build).toContain('torch 1.13.0a0');
    expect(build).toContain('BLAS_INFO=generic');
    expect(build).toContain('BLAS loaded: /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ·');
    expect(build).not.toContain('liblapack');
    expect(build).toContain('default 1 of 2 CPUs');
    expect(describeLoad([2.5, 3, 3.25], 2)).toBe('load average 2.50 / 3.00 / 3.25 (1 / 5 / 15 min) on 2 CPUs');
  });
});
