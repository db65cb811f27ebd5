/**
 * A run page over a database too large to answer at once: the page answers with the run's header and a
 * self-reloading "computing" note while the leaderboard and histograms are computed off the request path, other
 * pages are answered meanwhile, then the whole page; a failure is shown once and retried; a commit by another
 * connection starts the computation again. The real worker thread renders what the request path renders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type RunSectionsComputer, workerSectionsComputer } from '../../src/serve/run-sections-computer.ts';
import { type RunSections, renderRunSections } from '../../src/serve/run-sections.ts';
import { startViewer, type ViewerServer } from '../../src/serve/viewer-server.ts';
import { openDatabase } from '../../src/store/database.ts';
import { resolveRun } from '../../src/store/queries.ts';
import { runSummaries, type RunSummary } from '../../src/store/viewer-queries.ts';
import { buildViewerFixture, type ViewerFixture } from './viewer-fixture.ts';

type HeldRequest = { type: 'sections'; runId: number; scoreKind: string } | { type: 'summaries' };

/** Computations the test finishes (or fails) when it chooses, oldest first; every request is recorded. */
class HeldComputer implements RunSectionsComputer {
  readonly requests: HeldRequest[] = [];
  private readonly held: { request: HeldRequest; resolve: (value: never) => void; reject: (error: Error) => void }[] =
    [];
  closed = false;

  private hold<T>(request: HeldRequest): Promise<T> {
    this.requests.push(request);
    return new Promise<T>((resolve, reject) =>
      this.held.push({ request, resolve: resolve as (value: never) => void, reject }),
    );
  }

  compute(runId: number, scoreKind: string): Promise<RunSections> {
    return this.hold({ type: 'sections', runId, scoreKind });
  }

  summaries(): Promise<Map<number, RunSummary>> {
    return this.hold({ type: 'summaries' });
  }

  /** Finishes every held request with what the request path would answer. */
  finishAll(path: string): void {
    const db = openDatabase(path, { readonly: true });
    try {
      for (const { request, resolve } of this.held.splice(0))
        resolve(
          (request.type === 'summaries'
            ? runSummaries(db)
            : renderRunSections(db, resolveRun(db, String(request.runId))!, request.scoreKind)) as never,
        );
    } finally {
      db.close();
    }
  }

  failAll(message: string): void {
    for (const { reject } of this.held.splice(0)) reject(new Error(message));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const open: ViewerServer[] = [];
afterEach(async () => {
  for (const viewer of open.splice(0)) await viewer.close();
});

/** The real worker's computer, keeping each answer it was asked for so that a test can await them. */
class AwaitedComputer implements RunSectionsComputer {
  private readonly pending: Promise<unknown>[] = [];

  constructor(private readonly inner: RunSectionsComputer) {}

  private kept<T>(answer: Promise<T>): Promise<T> {
    this.pending.push(answer);
    return answer;
  }

  compute(runId: number, scoreKind: string): Promise<RunSections> {
    return this.kept(this.inner.compute(runId, scoreKind));
  }

  summaries(): Promise<Map<number, RunSummary>> {
    return this.kept(this.inner.summaries());
  }

  /**
   * Every answer asked for so far, settled. The viewer attached its own handler to each answer when it asked for it,
   * before this awaits it: by then each answer is in the viewer's cache.
   */
  async settled(): Promise<void> {
    while (this.pending.length > 0) await Promise.allSettled(this.pending.splice(0));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

async function viewerOf(fixture: ViewerFixture, options: Parameters<typeof startViewer>[0]): Promise<ViewerServer> {
  const viewer = await startViewer({ ...options, databasePath: fixture.path, port: 0 });
  open.push(viewer);
  return viewer;
}

/** A viewer that computes the run sections with `computer` for a database of any size, not warming the newest run. */
const backgroundViewerOf = (fixture: ViewerFixture, computer: RunSectionsComputer) =>
  viewerOf(fixture, {
    databasePath: fixture.path,
    runSectionsInlineUpTo: 0,
    runSectionsComputer: computer,
    warmNewestRun: false,
  });

async function get(viewer: ViewerServer, path: string): Promise<{ status: number; html: string }> {
  const response = await fetch(`${viewer.url}${path}`);
  return { status: response.status, html: await response.text() };
}

/** Requests `path` until nothing on it is still being computed (at most `attempts` requests). */
async function untilComputed(viewer: ViewerServer, path: string, attempts: number) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const page = await get(viewer, path);
    if (!/id="(leaderboard|counts)-computing"/.test(page.html)) return page;
  }
  throw new Error(`${path} was still computing after ${attempts} requests`);
}

/** The part of a run page the sections fill: from the leaderboard heading to the config. */
const sectionsPart = (html: string) =>
  html.slice(html.indexOf('<h2>Leaderboard</h2>'), html.indexOf('<h2>Config</h2>'));

describe('the run page of a large database', () => {
  it('answers with a reloading placeholder, serves other pages meanwhile, then shows the sections', async () => {
    const fixture = buildViewerFixture();
    const computer = new HeldComputer();
    const viewer = await backgroundViewerOf(fixture, computer);
    const path = `/run/${fixture.baselineRun}`;
    const sections = { type: 'sections', runId: fixture.baselineRun, scoreKind: 'correlation.all' };

    const placeholder = await get(viewer, path);
    expect(placeholder.status).toBe(200);
    expect(placeholder.html).toContain(`Run ${fixture.baselineRun}: baseline &lt;b&gt;run&lt;/b&gt;`);
    expect(placeholder.html).toContain('id="leaderboard-computing"');
    expect(placeholder.html).toContain('id="counts-computing"');
    expect(placeholder.html).toContain('<meta http-equiv="refresh" content="2">');
    expect(placeholder.html).not.toContain('id="leaderboard"');
    expect(computer.requests).toEqual([{ type: 'summaries' }, sections]);

    // the computations are still held: other pages answer, and no page asks for a second computation
    const runs = await get(viewer, '/');
    expect(runs.status).toBe(200);
    expect(runs.html).toContain('id="counts-computing"');
    expect(runs.html).toContain('<td class="num">…</td>');
    expect((await get(viewer, `/search?run=${fixture.baselineRun}`)).status).toBe(200);
    expect((await get(viewer, `/feature/${fixture.featureId(1)}`)).status).toBe(200);
    expect((await get(viewer, path)).html).toContain('id="leaderboard-computing"');
    expect(computer.requests).toHaveLength(2);

    computer.finishAll(fixture.path);
    const full = await untilComputed(viewer, path, 5);
    expect(full.html).toContain('id="leaderboard"');
    expect(full.html).toContain('correlation.all per layer');
    expect(full.html).toMatch(/\d+ scored · \d+ skipped/);
    expect(full.html).not.toContain('http-equiv="refresh"');
    const counted = await get(viewer, '/');
    expect(counted.html).not.toContain('id="counts-computing"');
    expect(counted.html).not.toContain('http-equiv="refresh"');
    expect(computer.requests).toHaveLength(2);

    // another process commits: the cached answers are dropped and computed again
    const writer = openDatabase(fixture.path);
    writer
      .prepare("UPDATE scores SET value = 0.99 WHERE run_id = ? AND feature_id = ? AND kind = 'correlation.all'")
      .run(fixture.baselineRun, fixture.featureId(4));
    writer.close();
    expect((await get(viewer, path)).html).toContain('id="leaderboard-computing"');
    expect(computer.requests).toEqual([{ type: 'summaries' }, sections, { type: 'summaries' }, sections]);
    computer.finishAll(fixture.path);
    expect((await untilComputed(viewer, path, 5)).html).toContain('#4 0.99');
  });

  it('shows a failed computation once, then tries again on the next view', async () => {
    const fixture = buildViewerFixture();
    const computer = new HeldComputer();
    const viewer = await backgroundViewerOf(fixture, computer);
    const path = `/run/${fixture.candidateRun}`;
    await get(viewer, path);
    computer.failAll('the worker <died>');
    const failed = await untilComputed(viewer, path, 5);
    expect(failed.html).toContain('id="leaderboard-failed"');
    expect(failed.html).toContain('id="counts-failed"');
    expect(failed.html).toContain('the worker &lt;died&gt;');
    expect(computer.requests).toHaveLength(2);
    expect((await get(viewer, path)).html).toContain('id="leaderboard-computing"');
    expect(computer.requests).toHaveLength(4);
  });

  it('warms the newest run at start, and computes inline for a database within the inline size', async () => {
    const fixture = buildViewerFixture();
    const computer = new HeldComputer();
    const viewer = await viewerOf(fixture, {
      databasePath: fixture.path,
      runSectionsInlineUpTo: 0,
      runSectionsComputer: computer,
    });
    expect(computer.requests).toEqual([
      { type: 'summaries' },
      { type: 'sections', runId: fixture.candidateRun, scoreKind: 'correlation.all' },
    ]);
    const small = new HeldComputer();
    const inline = await viewerOf(fixture, { databasePath: fixture.path, runSectionsComputer: small });
    const page = await get(inline, `/run/${fixture.candidateRun}`);
    expect(page.html).toContain('id="leaderboard"');
    expect(page.html).not.toContain('http-equiv="refresh"');
    expect(small.requests).toEqual([]);
    open.splice(open.indexOf(viewer), 1);
    await viewer.close();
    expect(computer.closed).toBe(true);
  });

  it('renders in its worker thread exactly what the request path renders', async () => {
    const fixture = buildViewerFixture();
    const worker = new AwaitedComputer(workerSectionsComputer(fixture.path));
    const inBackground = await backgroundViewerOf(fixture, worker);
    const inline = await viewerOf(fixture, { databasePath: fixture.path });
    for (const run of [fixture.candidateRun, fixture.baselineRun]) {
      const path = `/run/${run}?score=correlation.all`;
      // the first view asks the worker (started on that request, however long it takes); the next shows its answer
      expect((await get(inBackground, path)).html).toContain('id="leaderboard-computing"');
      await worker.settled();
      const page = await get(inBackground, path);
      expect(page.html).not.toMatch(/id="(leaderboard|counts)-(computing|failed)"/);
      expect(sectionsPart(page.html)).toContain('id="leaderboard"');
      expect(sectionsPart(page.html)).toBe(sectionsPart((await get(inline, path)).html));
      expect(page.html).toMatch(/\d+ scored · \d+ skipped/);
    }
  });

  it('names the worker and the database when the worker cannot open it, on every request', async () => {
    const computer = workerSectionsComputer('/nonexistent/autointerp-viewer.db');
    try {
      await expect(computer.compute(1, 'correlation.all')).rejects.toThrow(
        /run page worker 1 of 1 failed to start: .*\/nonexistent\/autointerp-viewer\.db/,
      );
      await expect(computer.summaries()).rejects.toThrow(/run page worker 1 of 1 failed to start/);
    } finally {
      await computer.close();
    }
  });
});
