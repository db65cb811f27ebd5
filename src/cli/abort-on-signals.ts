/**
 * @module cli/abort-on-signals — two-stage Ctrl+C for long commands: the first SIGINT/SIGTERM aborts the returned
 * signal (the command finishes the unit of work in flight and saves it), the second exits at once with 130.
 */
export interface SignalMessages {
  /** Printed on the first signal, e.g. "stopping after the batch in flight…". */
  stopping: string;
  /** Printed before the forced exit, e.g. how to resume. */
  forced: string;
}

export function abortOnSignals(messages: SignalMessages): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      process.stderr.write(`\nforced exit; ${messages.forced}\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${messages.stopping} (Ctrl+C again to force)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
