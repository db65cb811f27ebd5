/**
 * @module cli/until-stop-signal — how the server commands (`serve`, `serve-fake`) wait: until the first SIGINT or
 * SIGTERM, then their listeners are removed so that the process can stop.
 */

/** Resolves on the first SIGINT or SIGTERM, having removed its listeners. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
