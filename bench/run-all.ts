/**
 * bench/run-all — runs every benchmark of bench/ one after the other (each prints its own ratios, measured side by
 * side within its own run). `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Each bench with its arguments: the serve bench at 10^5 here (10^6 takes ~20 min to build; run it alone for that). */
const benches: (string | [string, ...string[]])[] = [
  'pipeline-overhead.ts',
  'records.ts',
  'records-load.ts',
  'store-write.ts',
  'throughput.ts',
  'best-of-n.ts',
  'report.ts',
  'subject-forward.ts',
  'subject-ops.ts',
  'ablation-passes.ts',
  'extract.ts',
  'sae-train.ts',
  'startup.ts',
  'scorer-cost.ts',
  ['serve.ts', '--features', '100000'],
];
let failed = 0;
for (const entry of benches) {
  const [bench, ...args] = typeof entry === 'string' ? [entry] : entry;
  console.log(`\n=== bench/${bench} ${args.join(' ')}`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(bench, import.meta.url)), ...args],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
