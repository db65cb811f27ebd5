/**
 * @module cli/progress — a progress bar on stderr (done/total, scored/failed, ETA). On a terminal it redraws in
 * place; elsewhere (CI, pipes) it prints a line every few seconds.
 */
import cliProgress from 'cli-progress';

export interface RunProgress {
  start(total: number, alreadyDone: number): void;
  increment(status: string): void;
  stop(): void;
}

export function createRunProgress(label: string): RunProgress {
  const counts = { scored: 0, skipped: 0, failed: 0 };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} features | scored {scored} skipped {skipped} failed {failed} | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    start(total, alreadyDone) {
      bar.start(total, alreadyDone, counts);
    },
    increment(status) {
      if (status in counts) counts[status as keyof typeof counts] += 1;
      bar.increment(1, counts);
    },
    stop() {
      bar.stop();
    },
  };
}
