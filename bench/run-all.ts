/**
 * bench/run-all — runs every benchmark of bench/ one after the other (each prints its own ratios, measured side by
 * side within its own run). `npm run bench`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches = [
  'pipeline-overhead.ts',
  'records.ts',
  'records-load.ts',
  'store-write.ts',
  'throughput.ts',
  'report.ts',
  'subject-forward.ts',
  'subject-ops.ts',
  'extract.ts',
  'sae-train.ts',
  'startup.ts',
  'serve.ts',
];
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== bench/${bench}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(bench, import.meta.url))], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
