/**
 * @module pipeline/bounded-stream — `forEachBounded` over a stream: a task per item of an (async) iterable, at most
 * `concurrency` at once, pulling the next item only when a task slot is free, so no more than `concurrency` items are
 * held at a time however long the stream is (a run's features read from a records file of any size). Before each
 * item it yields to the event loop and asks `shouldStop`; a task, `shouldStop` or the stream that throws stops new
 * items. It settles once every started task has ended, and closes the stream (its file) when it stops early.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/**
 * Processes `items` in order with up to `concurrency` tasks in flight. Resolves when the stream is done or a stop was
 * asked and the tasks in flight ended; rejects with the first error a task or the stream threw (after the others ended).
 */
export async function forEachBoundedStream<T>(
  items: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  task: (item: T) => Promise<void>,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : items[Symbol.iterator]();
  let exhausted = false;
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (!exhausted && !failed) {
      await yieldToEventLoop();
      try {
        if (failed || exhausted || shouldStop()) return;
        // Async generators queue concurrent next() calls: each worker gets its own item, in source order.
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          return;
        }
        await task(next.value);
      } catch (error) {
        if (!failed) firstError = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker)); // workers never reject
  if (!exhausted) {
    try {
      await iterator.return?.(); // stopped early: close the stream (its file)
    } catch (error) {
      if (!failed) firstError = error;
      failed = true;
    }
  }
  if (failed) throw firstError;
}
