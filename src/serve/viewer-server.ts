/**
 * @module serve/viewer-server — `autointerp serve`'s HTTP server (node:http: five GET routes need no framework):
 * opens the database read-only (store/database), answers GET and HEAD with server-rendered pages, binds 127.0.0.1
 * unless told otherwise, and sends every page with a Content-Security-Policy that allows nothing from elsewhere.
 * Routes: `/` runs, `/run/ID`, `/search`, `/feature/ID`, `/compare`, `/steer`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { escapeHtml } from '../report/html-escape.ts';
import { openDatabase, type SqliteDatabase } from '../store/database.ts';
import { renderComparePage } from './compare-page.ts';
import { ViewerModels } from './viewer-models.ts';
import { renderFeaturePage } from './feature-page.ts';
import { CONTENT_SECURITY_POLICY, renderPage } from './html-page.ts';
import { type RunSectionsComputer, workerSectionsComputer } from './run-sections-computer.ts';
import { renderRunPage, renderRunsPage, warmNewestRunPage } from './runs-page.ts';
import { renderSearchPage } from './search-page.ts';
import { renderSteerPage } from './steer-page.ts';
import { ViewerCache, ViewerRequestError, type ViewerContext, type ViewerPage } from './viewer-context.ts';

export const DEFAULT_VIEWER_HOST = '127.0.0.1';
export const DEFAULT_VIEWER_PORT = 8321;

export interface ViewerOptions {
  /** The SQLite file; opened read-only (nothing is ever written to it). */
  databasePath: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8321; 0 picks a free port. */
  port?: number;
  /** Subject model folders whose features get output tokens and steering (default none). */
  modelDirectories?: readonly string[];
  /**
   * A database of at most this many features renders run pages' leaderboards and histograms on the request path
   * (default 2,000: under a second, bootstrap included, measured at load 9); a larger one in a worker thread, the page
   * saying so meanwhile.
   */
  runSectionsInlineUpTo?: number;
  /** Where the run sections of a large database are computed (default: a worker thread; tests inject their own). */
  runSectionsComputer?: RunSectionsComputer;
  /** Start computing the newest run's page at start (default true; only for a database over the inline size). */
  warmNewestRun?: boolean;
}

/** The database size up to which run pages are rendered on the request path (bench/serve.ts measures it). */
export const DEFAULT_RUN_SECTIONS_INLINE_UP_TO = 2_000;

export interface ViewerServer {
  url: string;
  server: Server;
  db: SqliteDatabase;
  close(): Promise<void>;
}

/** A path segment, decoded; malformed percent-encoding (e.g. `%E0`) is the request's fault: a 400. */
function pathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ViewerRequestError(400, `malformed percent-encoding in the path segment "${segment}"`);
  }
}

/** Runs the route a path names; null when none does. */
async function route(context: ViewerContext, url: URL): Promise<ViewerPage | null> {
  const path = url.pathname;
  if (path === '/') return renderRunsPage(context);
  if (path === '/search') return renderSearchPage(context, url.searchParams);
  if (path === '/compare') return renderComparePage(context, url.searchParams);
  if (path === '/steer') return renderSteerPage(context, url.searchParams);
  const run = /^\/run\/([^/]+)$/.exec(path);
  if (run) return renderRunPage(context, pathSegment(run[1]!), url.searchParams.get('score') || null);
  const feature = /^\/feature\/([^/]+)$/.exec(path);
  if (feature) return renderFeaturePage(context, pathSegment(feature[1]!), url.searchParams);
  return null;
}

function send(
  response: ServerResponse,
  status: number,
  html: string,
  head: boolean,
  extra: Record<string, string> = {},
) {
  const body = Buffer.from(html, 'utf8');
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(body.length),
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    ...extra,
  });
  response.end(head ? undefined : body);
}

/** Whether a Host header names this machine's loopback (127.0.0.1, [::1] or localhost, any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

/** The request handler over one read-only connection (exported for in-process tests and the bench). */
export function viewerHandler(context: ViewerContext) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const head = request.method === 'HEAD';
    const frame = (page: ViewerPage) => renderPage({ ...page, databaseLabel: context.databaseLabel });
    // Bound to loopback, the viewer answers only requests addressed to loopback names: a web page whose DNS name
    // was rebound to 127.0.0.1 sends its own name as Host, and gets nothing.
    if (context.loopbackOnly && !isLoopbackHost(request.headers.host)) {
      send(response, 421, frame({ title: 'Misdirected', body: '<h1>Misdirected request</h1>' }), head);
      return;
    }
    if (request.method !== 'GET' && !head) {
      send(
        response,
        405,
        frame({ title: 'Method not allowed', body: '<h1>Read-only</h1><p>This viewer answers GET only.</p>' }),
        false,
        {
          allow: 'GET, HEAD',
        },
      );
      return;
    }
    try {
      const url = new URL(request.url ?? '/', 'http://viewer.invalid');
      const page = await route(context, url);
      if (!page) {
        send(
          response,
          404,
          frame({ title: 'Not found', body: `<h1>Not found</h1><p>No page at ${escapeHtml(url.pathname)}.</p>` }),
          head,
        );
        return;
      }
      send(response, 200, frame(page), head);
    } catch (error) {
      if (error instanceof ViewerRequestError) {
        send(
          response,
          error.status,
          frame({
            title: error.status === 404 ? 'Not found' : 'Bad request',
            body: `<h1>${error.status === 404 ? 'Not found' : 'Bad request'}</h1><p class="reason">${escapeHtml(error.message)}</p>`,
          }),
          head,
        );
        return;
      }
      send(
        response,
        500,
        frame({
          title: 'Error',
          body: `<h1>Internal error</h1><p class="reason">${escapeHtml((error as Error).message)}</p>`,
        }),
        head,
      );
    }
  };
}

/** Opens the database read-only and starts listening; `close()` stops the server and closes the database. */
export async function startViewer(options: ViewerOptions): Promise<ViewerServer> {
  const db = openDatabase(options.databasePath, { readonly: true });
  // Reading only: a larger page cache and memory-mapped reads (neither writes anything) keep the index pages that
  // pagination and feature lookups walk in memory; 2 GiB is the most mmap SQLite allows unless compiled otherwise.
  db.pragma('cache_size = -131072');
  db.pragma('mmap_size = 2147418112');
  const models = options.modelDirectories?.length ? new ViewerModels(options.modelDirectories) : null;
  const context: ViewerContext = {
    db,
    databaseLabel: basename(options.databasePath),
    cache: new ViewerCache(db),
    models,
    loopbackOnly: ['127.0.0.1', '::1', 'localhost'].includes(options.host ?? DEFAULT_VIEWER_HOST),
    runSections: {
      computer: options.runSectionsComputer ?? workerSectionsComputer(options.databasePath),
      inlineUpTo: options.runSectionsInlineUpTo ?? DEFAULT_RUN_SECTIONS_INLINE_UP_TO,
    },
  };
  const server = createServer(viewerHandler(context));
  const host = options.host ?? DEFAULT_VIEWER_HOST;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_VIEWER_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    db.close();
    throw error;
  }
  if (options.warmNewestRun !== false) warmNewestRunPage(context);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    server,
    db,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await models?.dispose();
      await context.runSections.computer?.close();
      db.close();
    },
  };
}
