/**
 * The viewer's routes over HTTP on 127.0.0.1, in process: every page answers with its content, everything a user
 * or a model wrote is escaped, search filters and sorts, keyset pagination walks every feature exactly once across
 * page boundaries full of ties, compare lists regressions first, and the server never writes to the database.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.ts';
import { formatCursor, parseCursor } from '../../src/serve/search-page.ts';
import { isLoopbackHost, startViewer, type ViewerServer } from '../../src/serve/viewer-server.ts';
import { cli } from '../helpers/run-cli.ts';
import { withUnwritableFile } from '../helpers/unwritable-file.ts';
import {
  baselineValue,
  buildViewerFixture,
  FEATURE_COUNT,
  SCRIPT_TOKEN,
  type ViewerFixture,
} from './viewer-fixture.ts';

let fixture: ViewerFixture;
let viewer: ViewerServer;
let fileBefore: { digest: string; mtimeMs: number; size: number };

const fileState = (path: string) => ({
  digest: createHash('sha256').update(readFileSync(path)).digest('hex'),
  mtimeMs: statSync(path).mtimeMs,
  size: statSync(path).size,
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; html: string; headers: Headers }> {
  const response = await fetch(`${viewer.url}${path}`, init);
  return { status: response.status, html: await response.text(), headers: response.headers };
}

/** The feature ids of the result rows of a search page, in order, and its next-page link. */
function resultsOf(html: string): { featureIds: number[]; next: string | null } {
  const featureIds = [...html.matchAll(/<tr><td><a href="\/feature\/(\d+)/g)].map((match) => Number(match[1]));
  const next = /<a href="([^"]+)" id="next-page"/.exec(html);
  return { featureIds, next: next ? next[1]!.replaceAll('&amp;', '&') : null };
}

/** Follows next-page links from `first`; returns every row's feature id and how many pages it took. */
async function walk(first: string): Promise<{ featureIds: number[]; pages: number }> {
  const featureIds: number[] = [];
  let next: string | null = first;
  let pages = 0;
  while (next !== null && pages < 100) {
    const page = await get(next);
    expect(page.status).toBe(200);
    const results = resultsOf(page.html);
    featureIds.push(...results.featureIds);
    next = results.next;
    pages++;
  }
  return { featureIds, pages };
}

beforeAll(async () => {
  fixture = buildViewerFixture();
  fileBefore = fileState(fixture.path);
  viewer = await startViewer({ databasePath: fixture.path, port: 0 });
});

afterAll(async () => {
  await viewer?.close();
});

describe('autointerp serve: pages', () => {
  it('binds 127.0.0.1 and sends a policy that allows nothing from elsewhere', async () => {
    expect(viewer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await get('/');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('/ lists the runs, newest first, names escaped', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.html).toContain('baseline &lt;b&gt;run&lt;/b&gt;');
    expect(page.html).not.toContain('<b>run</b>');
    expect(page.html.indexOf(`/run/${fixture.candidateRun}"`)).toBeLessThan(
      page.html.indexOf(`/run/${fixture.baselineRun}"`),
    );
  });

  it('/run/ID shows a leaderboard per layer for each score kind, histograms and the config', async () => {
    const page = await get(`/run/${fixture.baselineRun}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('id="leaderboard"');
    expect(page.html.match(/<svg class="chart"/g)).toHaveLength(3); // one histogram per layer
    for (const kind of ['correlation.all', 'correlation.top', 'rsquared.all', 'absdev.all'])
      expect(page.html).toContain(`score=${kind}`);
    const other = await get(`/run/${fixture.baselineRun}?score=rsquared.all`);
    expect(other.html).toMatch(/aria-current="page">rsquared\.all/);
    expect((await get(`/run/${fixture.baselineRun}?score=nope`)).status).toBe(404);
    expect((await get('/run/999')).status).toBe(404);
  });

  it("/feature/ID shows every run's explanation and scores, judge answers, records as inert heat maps", async () => {
    const page = await get(`/feature/${fixture.featureId(0)}?run=${fixture.baselineRun}`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain(SCRIPT_TOKEN);
    expect(page.html).not.toContain('<img');
    expect(page.html).not.toContain('<b>bold</b>');
    expect(page.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.html).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/); // no raw control character anywhere
    expect(page.html).toContain('\\u0007bell\\u001b[31m'); // shown as escapes
    expect(page.html).toContain(`title="${'&quot;\\u0007bell\\u001b[31m&quot; · true 1.500 · simulated missing'}"`);
    expect(page.html.match(/class="card run-result"/g)).toHaveLength(2); // both runs' explanations
    for (const group of ['top records', 'quantile records', 'random records']) expect(page.html).toContain(group);
    expect(page.html.indexOf('top records')).toBeLessThan(page.html.indexOf('quantile records'));
    expect(page.html.indexOf('quantile records')).toBeLessThan(page.html.indexOf('random records'));
    expect(page.html).toContain('detection · judge');
    expect(page.html).toMatch(/class="judgement wrong"/);
    expect(page.html).toContain('activations of 10 tokens');
    const undefinedScore = await get(`/feature/${fixture.featureId(3)}`);
    expect(undefinedScore.html).toMatch(
      /correlation\.all<\/td><td class="num">null<\/td><td>constant true activations/,
    );
    expect((await get('/feature/999999')).status).toBe(404);
    expect((await get(`/feature/${fixture.featureId(0)}?run=999`)).status).toBe(404);
  });

  it("/feature/ID lists a best-of-n run's candidate explanations, the selected one marked", async () => {
    const page = await get(`/feature/${fixture.featureId(1)}`);
    expect(page.html).toContain('Candidate explanations');
    expect(page.html).toContain('nouns &lt;i&gt;maybe&lt;/i&gt;');
    expect(page.html).toMatch(/<tr class="selected"><td class="num">1<\/td><td>revision of #0<\/td>/);
    expect((await get(`/feature/${fixture.featureId(2)}`)).html).not.toContain('Candidate explanations');
  });

  it('/compare pairs two runs and lists the regressions first, largest drop first', async () => {
    const page = await get(`/compare?a=${fixture.baselineRun}&b=${fixture.candidateRun}`);
    expect(page.status).toBe(200);
    const regressions = page.html.indexOf('id="regressions"');
    expect(regressions).toBeGreaterThan(0);
    expect(regressions).toBeLessThan(page.html.indexOf('id="improvements"'));
    const regressionTable = page.html.slice(regressions, page.html.indexOf('</table>', regressions));
    const listed = [...regressionTable.matchAll(/synthetic\/(\d+)\/neuron\/(\d+)/g)].map((match) => Number(match[2]));
    expect(listed).toEqual([5, 6]);
    expect(page.html).toContain('29 features paired of 30');
    expect((await get('/compare')).status).toBe(200);
    expect((await get('/compare?a=1&b=77')).status).toBe(404);
  });

  it('refuses a request addressed to another name (DNS rebinding) with 421', async () => {
    const { request } = await import('node:http');
    const url = new URL(viewer.url);
    const status = await new Promise<number>((resolve, reject) => {
      const call = request(
        { host: url.hostname, port: url.port, path: '/', headers: { host: `attacker.example:${url.port}` } },
        (response) => {
          response.resume();
          resolve(response.statusCode!);
        },
      );
      call.on('error', reject);
      call.end();
    });
    expect(status).toBe(421);
    expect(isLoopbackHost(`localhost:${url.port}`)).toBe(true);
    expect(isLoopbackHost('[::1]:80')).toBe(true);
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
  });

  it('answers unknown paths with 404 and anything but GET or HEAD with 405', async () => {
    expect((await get('/nothing')).status).toBe(404);
    const post = await get('/search', { method: 'POST', body: 'q=x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/', { method: 'HEAD' })).html).toBe('');
    expect((await get('/steer?feature=1')).status).toBe(404); // started without models: nothing to steer
  });

  it('answers a path with malformed percent-encoding with 400 naming it, not 500', async () => {
    for (const path of ['/feature/%E0', '/run/%E0%A4%A']) {
      const page = await get(path);
      expect(page.status).toBe(400);
      expect(page.html).toContain('percent-encoding');
    }
  });
});

describe('autointerp serve: search', () => {
  it('finds features by explanation words (prefixes), escaping what it shows', async () => {
    const page = await get(`/search?run=${fixture.baselineRun}&q=plural+noun&sort=feature`);
    expect(resultsOf(page.html).featureIds).toEqual([fixture.featureId(1)]);
    const hostile = await get(`/search?run=${fixture.baselineRun}&q=${encodeURIComponent('<script> alert')}`);
    expect(resultsOf(hostile.html).featureIds).toEqual([fixture.featureId(0)]);
    expect(hostile.html).not.toContain(SCRIPT_TOKEN);
    expect(hostile.html).toContain('value="&lt;script&gt; alert"');
    // FTS5 syntax typed by a user is text, not an error
    expect((await get(`/search?q=${encodeURIComponent('"unbalanced OR NEAR(')}`)).status).toBe(200);
  });

  it('filters by layer, kind and score range, and rejects malformed numbers with 400', async () => {
    const page = await get(`/search?run=${fixture.baselineRun}&layer=1&min=0.4&max=0.6&sort=feature&limit=500`);
    const expected = Array.from({ length: FEATURE_COUNT }, (_, i) => i)
      .filter((i) => i % 3 === 1 && baselineValue(i) !== null && baselineValue(i)! >= 0.4 && baselineValue(i)! <= 0.6)
      .map((i) => fixture.featureId(i));
    expect(resultsOf(page.html).featureIds).toEqual(expected);
    expect(resultsOf((await get('/search?feature-kind=sae')).html).featureIds).toEqual([]);
    expect((await get('/search?min=abc')).status).toBe(400);
    expect((await get('/search?sort=sideways')).status).toBe(400);
    expect((await get('/search?after=1:x')).status).toBe(400);
    expect((await get('/search?limit=0')).status).toBe(400);
    expect((await get('/search?before=x')).status).toBe(400);
    const both = await get('/search?after=0.5:3&before=0.5:9');
    expect(both.status).toBe(400);
    expect(both.html).toContain('after and before');
  });

  it.each([
    ['before=0.5:', 'empty feature'],
    ['before=0.5:99999999999999999999', 'feature beyond safe integers'],
    ['after=0.5:9007199254740993', 'feature beyond safe integers'],
    ['before=0.5:-5', 'signed feature'],
    ['before=0.5:1e20', 'feature in exponent form'],
    ['before=%200.5%20:%201%20', 'spaces'],
    ['before=-0x1:1', 'hexadecimal value'],
    ['before=1e309:1', 'infinite value'],
    ['sort=feature&before=%20', 'blank feature'],
    ['sort=feature&before=99999999999999999999', 'feature beyond safe integers'],
    ['sort=feature&before=1e300', 'feature in exponent form'],
    ['sort=feature&before=0x10', 'hexadecimal feature'],
    ['sort=feature&after=<script>1', 'markup'],
  ])('rejects the cursor %s (%s) with 400 and an escaped message', async (query, _why) => {
    const page = await get(`/search?run=${fixture.baselineRun}&${query.replace('<script>', '%3Cscript%3E')}`);
    expect(page.status).toBe(400);
    expect(page.html).toMatch(/(after|before): expected (VALUE:)?FEATURE/);
    expect(page.html).not.toContain('<script>1');
  });

  it('reads back every cursor it writes, scores in any number form included', () => {
    for (const value of [0.5, -0.25, 1e-7, -1.5e-10, 1e21, 5e-324, 0])
      expect(parseCursor(formatCursor({ value, featureId: 42 }), 'score-desc')).toEqual({ value, featureId: 42 });
    expect(parseCursor(formatCursor({ value: null, featureId: 9007199254740991 }), 'feature')).toEqual({
      value: null,
      featureId: 9007199254740991,
    });
  });

  it('pages back by its previous-page links (keyset, before=FIRST ROW) to the first page, which has none', async () => {
    const forward = await walk(`/search?run=${fixture.baselineRun}&sort=score-desc&limit=4`);
    let path = `/search?run=${fixture.baselineRun}&sort=score-desc&limit=4`;
    for (let pages = 1; pages < forward.pages; pages++) path = resultsOf((await get(path)).html).next!;
    const backward: number[][] = [];
    for (let pages = 0; pages < 100; pages++) {
      const { html } = await get(path);
      backward.unshift(resultsOf(html).featureIds);
      const previous = /<a href="([^"]+)" id="previous-page" rel="prev"/.exec(html);
      if (!previous) break;
      expect(previous[1]).toContain('before=');
      path = previous[1]!.replaceAll('&amp;', '&');
    }
    expect(backward).toHaveLength(forward.pages);
    expect(backward.flat()).toEqual(forward.featureIds);
  });

  it.each([
    ['score-desc', -1],
    ['score-asc', 1],
  ] as const)(
    'keyset pagination by score (%s) returns every scored feature once, ties broken by feature',
    async (sort, direction) => {
      const scored = Array.from({ length: FEATURE_COUNT }, (_, i) => i).filter((i) => baselineValue(i) !== null);
      const expected = scored
        .map((i) => ({ id: fixture.featureId(i), value: baselineValue(i)! }))
        .sort((a, b) => direction * (a.value - b.value) || direction * (a.id - b.id))
        .map((row) => row.id);
      // pages of 4 over runs of 6 equal values: page boundaries fall inside ties
      const { featureIds, pages } = await walk(`/search?run=${fixture.baselineRun}&sort=${sort}&limit=4`);
      expect(featureIds).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 4));
    },
  );

  it('keyset pagination by feature, with a filter, and sorting by another kind', async () => {
    const { featureIds } = await walk(`/search?run=${fixture.baselineRun}&sort=feature&layer=2&limit=3`);
    expect(featureIds).toEqual(
      Array.from({ length: FEATURE_COUNT }, (_, i) => i)
        .filter((i) => i % 3 === 2)
        .map((i) => fixture.featureId(i)),
    );
    // rsquared.all is correlation.all − 0.05 in the fixture: the same order
    const byOther = await walk(`/search?run=${fixture.baselineRun}&score=rsquared.all&sort=score-desc&limit=7`);
    const byMain = await walk(`/search?run=${fixture.baselineRun}&score=correlation.all&sort=score-desc&limit=7`);
    expect(byOther.featureIds).toEqual(byMain.featureIds);
  });
});

describe('autointerp serve: read-only', () => {
  it('leaves the database file byte for byte as it was after a session of requests', async () => {
    for (const path of ['/', `/run/${fixture.baselineRun}`, '/search?q=tokens', `/feature/${fixture.featureId(0)}`])
      expect((await get(path)).status).toBe(200);
    await get(`/compare?a=${fixture.baselineRun}&b=${fixture.candidateRun}`);
    expect(fileState(fixture.path)).toEqual(fileBefore);
    expect(() => viewer.db.prepare("UPDATE runs SET name = 'x'").run()).toThrow(/readonly/);
  });

  it('serves a database on a file system it cannot write', (context) =>
    withUnwritableFile(
      context,
      'viewer.db',
      (path) => copyFileSync(fixture.path, path),
      async (path) => {
        const readOnly = await startViewer({ databasePath: path, port: 0 });
        try {
          const response = await fetch(`${readOnly.url}/search?q=plural`);
          expect(response.status).toBe(200);
          expect(resultsOf(await response.text()).featureIds).toEqual([fixture.featureId(1)]);
        } finally {
          await readOnly.close();
        }
      },
    ));

  it('a database of schema 9 (before the search index): upgraded where writable and searchable; refused, naming a way out, where not', async (context) => {
    const schemaNine = (path: string) => {
      const old = new Database(path);
      for (const migration of migrations.slice(0, 9)) {
        if (typeof migration === 'string') old.exec(migration);
        else migration(old);
      }
      old.pragma('user_version = 9');
      old.exec(`
        INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
          VALUES (1, 'old', '{}', 'x', '{}', 'e', 's', 0, 'f', '2026-01-01', 'finished');
        INSERT INTO features (id, model, layer, kind, idx) VALUES (1, 'm', '0', 'neuron', 0);
        INSERT INTO run_features (run_id, feature_id, status, finished_at) VALUES (1, 1, 'scored', '2026-01-01');
        INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at)
          VALUES (7, 1, 1, 'commas in lists', 'e', 'explain.v1', 0, '2026-01-01');`);
      old.close();
    };
    const writable = join(mkdtempSync(join(tmpdir(), 'autointerp-serve-')), 'old.db');
    schemaNine(writable);
    const upgraded = await startViewer({ databasePath: writable, port: 0 });
    try {
      const response = await fetch(`${upgraded.url}/search?run=1&q=comma&sort=feature`);
      expect(response.status).toBe(200);
      expect(resultsOf(await response.text()).featureIds).toEqual([1]);
    } finally {
      await upgraded.close();
    }
    await withUnwritableFile(context, 'old.db', schemaNine, async (path) => {
      await expect(startViewer({ databasePath: path, port: 0 })).rejects.toThrow(
        /schema version 9, older than this autointerp.*copy it to a writable folder/,
      );
    });
  });

  it('`autointerp serve` refuses a missing database with one line naming it (exit 2)', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'autointerp-serve-')), 'none.db');
    const result = await cli(['serve', '--db', missing, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no database at ${missing}`);
  });
});
