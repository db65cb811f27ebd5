/**
 * @module cli/progress — a progress bar on stderr: features done/total, scored/failed, LLM calls in flight, tokens,
 * spend and ETA. On a terminal it redraws in place; elsewhere (CI, pipes) it prints a line every few seconds.
 */
import cliProgress from 'cli-progress';

export interface RunProgress {
  start(total: number, alreadyDone: number): void;
  increment(status: string): void;
  /** An LLM call started. */
  callStarted(): void;
  /** An LLM call ended with this usage and cost (null: unpriced). */
  callEnded(call: { promptTokens: number; completionTokens: number; costUsd: number | null; cached: boolean }): void;
  /** A short status shown at the end of the bar (batch mode: the pending batch and its counts); '' clears it. */
  note(text: string): void;
  stop(): void;
}

/** `12.3k` style counts. */
export function compactCount(value: number): string {
  if (value < 1000) return String(value);
  if (value < 1_000_000) return `${(value / 1000).toFixed(1)}k`;
  return `${(value / 1_000_000).toFixed(2)}M`;
}

/** USD with enough digits for small spends. */
export function formatUsd(value: number): string {
  return value >= 1 ? `$${value.toFixed(2)}` : `$${value.toFixed(4)}`;
}

export function createRunProgress(label: string): RunProgress {
  const counts = { scored: 0, skipped: 0, failed: 0 };
  const calls = { inFlight: 0, tokens: 0, costUsd: 0, cached: 0 };
  let note = '';
  const payload = () => ({
    ...counts,
    inFlight: calls.inFlight,
    tokens: compactCount(calls.tokens),
    spend: formatUsd(calls.costUsd),
    cached: calls.cached,
    note,
  });
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} features | scored {scored} skipped {skipped} failed {failed} | calls in flight {inFlight} | tokens {tokens} | spend {spend} | ETA {eta_formatted}{note}`,
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
      bar.start(total, alreadyDone, payload());
    },
    increment(status) {
      if (status in counts) counts[status as keyof typeof counts] += 1;
      bar.increment(1, payload());
    },
    callStarted() {
      calls.inFlight += 1;
      bar.update(payload());
    },
    callEnded(call) {
      calls.inFlight -= 1;
      calls.tokens += call.promptTokens + call.completionTokens;
      calls.costUsd += call.costUsd ?? 0;
      if (call.cached) calls.cached += 1;
      bar.update(payload());
    },
    note(text) {
      note = text ? ` | ${text}` : '';
      bar.update(payload());
    },
    stop() {
      bar.stop();
    },
  };
}
