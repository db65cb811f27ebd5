/**
 * @module serve/background-answers — answers the viewer caches that take seconds over a large database (a run's
 * leaderboard and histograms, every run's unit counts): computed on the request path for a database of at most
 * `inlineUpTo` features, else handed to the background computer (serve/run-sections-computer) while the page says
 * "computing". The answer lands in the cache entry made for it; an entry the cache dropped meanwhile (another process
 * committed) is forgotten with it. A failure is shown once, then forgotten, so that the next view tries again.
 */
import { largestFeatureId } from '../store/score-streams.ts';
import type { RunSectionsComputer } from './run-sections-computer.ts';
import type { ViewerContext } from './viewer-context.ts';

/** An answer: ready, still being computed off the request path, or failed there. */
export type BackgroundAnswer<T> =
  | { status: 'ready'; value: T }
  | { status: 'computing' }
  | { status: 'failed'; message: string };

/** A cache entry whose answer a background computation fills in. */
interface AnswerEntry<T> {
  answer: BackgroundAnswer<T>;
}

/** Whether this database is large enough to compute off the request path (a seek: its largest feature id). */
export function answersInBackground(context: ViewerContext): boolean {
  return context.runSections.computer !== null && largestFeatureId(context.db) > context.runSections.inlineUpTo;
}

/** The cached answer for `key`, else `inline()` on a small database, else `background(computer)` started. */
export function backgroundAnswer<T>(
  context: ViewerContext,
  key: string,
  inline: () => T,
  background: (computer: RunSectionsComputer) => Promise<T>,
): BackgroundAnswer<T> {
  const entry = context.cache.get(key, (): AnswerEntry<T> => {
    const computer = context.runSections.computer;
    if (computer === null || !answersInBackground(context)) return { answer: { status: 'ready', value: inline() } };
    const pending: AnswerEntry<T> = { answer: { status: 'computing' } };
    background(computer).then(
      (value) => {
        pending.answer = { status: 'ready', value };
      },
      (error: unknown) => {
        pending.answer = { status: 'failed', message: error instanceof Error ? error.message : String(error) };
      },
    );
    return pending;
  });
  if (entry.answer.status === 'failed') context.cache.delete(key);
  return entry.answer;
}
