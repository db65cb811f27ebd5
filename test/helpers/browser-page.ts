/**
 * @module test/helpers/browser-page — a browser test file's one headless Chromium and the one page its tests share
 * (starting Chromium and its first page is most of a browser test's cost): launched while the file's fixture is built,
 * and watched for what no page may do — console errors and warnings, uncaught page errors, dialogs (dismissed) — and
 * for every request it makes. Each test calls `clear()` (or `visit`) first, so it sees only its own page's events.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../report/chromium.ts';

/** The shared page and what it did since the last `clear()`. */
export interface WatchedPage {
  page: Page;
  /** The messages of dialogs the page opened (each dismissed). */
  dialogs: string[];
  /** Console errors and warnings, and uncaught page errors. */
  errors: string[];
  /** The URL of every request the page made. */
  requests: string[];
  /** Forgets the events so far (the lists are emptied in place: references to them stay valid). */
  clear(): void;
  /** `clear()`, then loads `url`; the response, as `page.goto` answers. */
  visit(url: string): ReturnType<Page['goto']>;
}

/** A browser test file's Chromium, its page, and what the file's `prepare` built meanwhile. */
export interface BrowserPage<Prepared> {
  browser: Browser;
  watched: WatchedPage;
  prepared: Prepared;
}

/**
 * `expect.poll`'s options for a state the page reaches on its own (after a debounce, a scroll, a hover): a hang guard
 * only, as the test timeouts are — vitest's default of 1 s is a race that a loaded machine can lose.
 */
export const POLL_HANG_GUARD = { timeout: 60_000 };

/** The viewport of every browser test's page (the screenshots' width). */
export const VIEWPORT = { width: 1280, height: 900 };

async function openWatchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('request', (request) => requests.push(request.url()));
  const clear = () => {
    for (const list of [dialogs, errors, requests]) list.length = 0;
  };
  return {
    page,
    dialogs,
    errors,
    requests,
    clear,
    visit: (url) => {
      clear();
      return page.goto(url);
    },
  };
}

/**
 * Starts Chromium and opens its page while `prepare` (the file's fixture) runs, so that the two overlap; when either
 * fails, the browser is closed again and the error thrown.
 */
export async function openBrowserPage<Prepared>(
  prepare: () => Prepared | Promise<Prepared>,
): Promise<BrowserPage<Prepared>> {
  const launching = launchChromium();
  const opening = launching.then(openWatchedPage);
  opening.catch(() => undefined); // awaited below: no unhandled rejection while `prepare` runs
  try {
    const prepared = await prepare();
    return { browser: await launching, watched: await opening, prepared };
  } catch (error) {
    await launching.then(
      (browser) => browser.close(),
      () => undefined,
    );
    throw error;
  }
}
