/**
 * @module pipeline/live-scheduler — the live way to run the units of work: features through `processFeature` with
 * bounded concurrency, each saved the moment it completes. The features come as a stream (read from the source as
 * workers free up), so a run holds no more than `concurrency` features' records at a time. A yield to the event loop before each feature lets Ctrl+C
 * in even when every feature is synchronous work (the offline baseline); a thrown error (a bug, a storage error)
 * stops new features.
 */
import type { FeatureRecord } from '../records/types.ts';
import { forEachBoundedStream } from './bounded-stream.ts';
import { processFeature, type FeatureContext } from './process-feature.ts';
import type { FeatureSaver } from './save-features.ts';

export interface LiveSchedulerOptions {
  /** The features to process, in order: a stream (pipeline/load-run-features.ts) or a list. */
  todo: AsyncIterable<FeatureRecord> | Iterable<FeatureRecord>;
  concurrency: number;
  context: FeatureContext;
  saver: FeatureSaver;
  /** Aborts LLM requests in flight: a feature that then failed is not saved (it is redone on resume). */
  signal?: AbortSignal;
  /** Asked before each new feature: true stops scheduling (it may throw to stop the run). */
  shouldStop(): boolean;
}

export async function runLiveScheduler(options: LiveSchedulerOptions): Promise<void> {
  const { context, saver, signal } = options;
  await forEachBoundedStream(
    options.todo,
    options.concurrency,
    async (feature) => {
      const processed = await processFeature(feature, context);
      if (signal?.aborted && processed.result.status === 'failed') {
        saver.countSpend(processed); // cut short by the abort: redo on resume (its spend still counts)
        return;
      }
      saver.save(processed);
    },
    options.shouldStop,
  );
}
