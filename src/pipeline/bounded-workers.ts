/**
 * @module pipeline/bounded-workers — runs a task per item with at most `concurrency` at once. Before each item it
 * yields to the event loop (so a Ctrl+C, a timer or a heartbeat is seen even when every task is synchronous CPU work,
 * as the offline baseline's are) and asks `shouldStop`; a task (or `shouldStop`) that throws stops new items. It settles once every
 * started task has ended — never with a task left pending (p-limit's `clearQueue` left cleared tasks unsettled, so
 * the run never returned).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Processes `items` in order with up to `concurrency` tasks in flight. Resolves when the items are done or a stop was
 * asked and the tasks in flight ended; rejects with the first error a task threw (after the others ended).
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (next < items.length && !failed) {
      await yieldToEventLoop();
      try {
        if (failed || next >= items.length || shouldStop()) return;
        const item = items[next++]!;
        await task(item);
      } catch (error) {
        if (!failed) firstError = error;
        failed = true;
      }
    }
  };
  const workers = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failed) throw firstError;
}
