/**
 * A feature page stays bounded however much a feature holds: a feature in more runs than the page shows, with more
 * candidate explanations, records and judge answers than it shows, gets each list capped with a "more" link that
 * pages on by keyset, and following the links shows every run, candidate and record exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FEATURE_PAGE_CAPS } from '../../src/serve/feature-page.ts';
import { startViewer, type ViewerServer } from '../../src/serve/viewer-server.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore, type StoredRecord } from '../../src/store/result-store.ts';
import { syntheticRun } from '../report/synthetic-store.ts';

const RUNS = FEATURE_PAGE_CAPS.runs + 2;
const CANDIDATES = FEATURE_PAGE_CAPS.candidates + 5;
const RECORDS = FEATURE_PAGE_CAPS.records + 5;
const JUDGE_EXAMPLES = FEATURE_PAGE_CAPS.judgeExamples + 5;

let viewer: ViewerServer;
let featureId: number;
let runIds: number[];

beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'autointerp-serve-caps-')), 'caps.db');
  const db = openDatabase(path);
  const store = new ResultStore(db);
  const records: StoredRecord[] = Array.from({ length: RECORDS }, (_, position) => ({
    split: 'score',
    source: position % 2 === 0 ? 'top' : 'random',
    tokens: [`r${position}`, 'x'],
    activations: [position / 10, 0],
    expected: [1, 0],
  }));
  runIds = Array.from({ length: RUNS }, (_, run) =>
    syntheticRun(store, {
      name: `run ${run}`,
      features: [
        {
          layer: 0,
          index: 7,
          value: 0.5,
          explanation: 'the letter r',
          ...(run === RUNS - 1
            ? {
                records,
                candidates: Array.from({ length: CANDIDATES }, (_, index) => ({
                  index,
                  parent: null,
                  kind: 'sample' as const,
                  text: `candidate ${index}`,
                  promptVersion: 'explain.v1',
                  calibrationScore: 0.1,
                  heldOutScore: null,
                  selected: index === 0,
                })),
              }
            : {}),
        },
      ],
    }),
  );
  featureId = (db.prepare('SELECT id FROM features').get() as { id: number }).id;
  db.prepare(
    'INSERT INTO judgements (run_id, feature_id, scorer, judge, prompt_version, examples) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    runIds.at(-1),
    featureId,
    'detection',
    'baseline:rule-based-v1',
    'detection.v1',
    JSON.stringify(
      Array.from({ length: JUDGE_EXAMPLES }, (_, i) => ({
        tokens: [`j${i}`],
        source: 'top',
        truth: true,
        predicted: true,
        probability: 0.9,
      })),
    ),
  );
  db.close();
  viewer = await startViewer({ databasePath: path, port: 0 });
});

afterAll(async () => {
  await viewer?.close();
});

async function page(path: string): Promise<string> {
  const response = await fetch(`${viewer.url}${path.replaceAll('&amp;', '&')}`);
  expect(response.status).toBe(200);
  return response.text();
}

const link = (html: string, pattern: RegExp): string | null => pattern.exec(html)?.[1] ?? null;
const runsOf = (html: string) => [...html.matchAll(/data-run="(\d+)"/g)].map((match) => Number(match[1]));
/** The first token of each record shown (each shows twice: true and simulated side by side). */
const recordsOf = (html: string) => [...new Set([...html.matchAll(/>(r\d+)</g)].map((match) => match[1]!))];
const candidatesOf = (html: string) => [...html.matchAll(/<td>(candidate \d+)<\/td>/g)].map((match) => match[1]!);

it('caps the runs at a page and links to the older ones, newest first, each once', async () => {
  const first = await page(`/feature/${featureId}`);
  expect(runsOf(first)).toEqual([...runIds].reverse().slice(0, FEATURE_PAGE_CAPS.runs));
  const older = link(first, /<a href="([^"]+)" id="older-runs"/);
  expect(older).toContain('runs-before=');
  const second = await page(older!);
  expect(runsOf(second)).toEqual([...runIds].reverse().slice(FEATURE_PAGE_CAPS.runs));
  expect(link(second, /<a href="([^"]+)" id="older-runs"/)).toBeNull();
  expect(link(second, /<a href="([^"]+)" id="newest-runs"/)).not.toBeNull();
});

it("caps the shown run's records and candidates, and pages on through each by its more link", async () => {
  const first = await page(`/feature/${featureId}`);
  expect(recordsOf(first)).toHaveLength(FEATURE_PAGE_CAPS.records);
  expect(first).toContain(`Records on this page: ${FEATURE_PAGE_CAPS.records} of ${RECORDS}`);
  const moreRecords = link(first, /<a href="([^"]+)" id="more-records"/);
  expect(moreRecords).toContain('records-after=');
  const restOfRecords = await page(moreRecords!);
  expect(recordsOf(restOfRecords)).toHaveLength(RECORDS - FEATURE_PAGE_CAPS.records);
  expect(link(restOfRecords, /<a href="([^"]+)" id="more-records"/)).toBeNull();
  expect(new Set([...recordsOf(first), ...recordsOf(restOfRecords)]).size).toBe(RECORDS);

  expect(candidatesOf(first)).toEqual(
    Array.from({ length: FEATURE_PAGE_CAPS.candidates }, (_, index) => `candidate ${index}`),
  );
  const moreCandidates = link(first, /<a class="more-candidates" href="([^"]+)"/);
  expect(moreCandidates).toContain('candidates-after=');
  const restOfCandidates = await page(moreCandidates!);
  expect(candidatesOf(restOfCandidates)).toEqual(
    Array.from(
      { length: CANDIDATES - FEATURE_PAGE_CAPS.candidates },
      (_, i) => `candidate ${FEATURE_PAGE_CAPS.candidates + i}`,
    ),
  );
  expect(link(restOfCandidates, /<a class="more-candidates" href="([^"]+)"/)).toBeNull();
});

it("caps a judge's answers, saying how many there are and where every one is", async () => {
  const html = await page(`/feature/${featureId}`);
  expect([...html.matchAll(/<tr class="judgement/g)]).toHaveLength(FEATURE_PAGE_CAPS.judgeExamples);
  expect(html).toContain(`${FEATURE_PAGE_CAPS.judgeExamples} of ${JUDGE_EXAMPLES} answers shown`);
});

it('answers a malformed page key with 400 naming the parameter', async () => {
  const response = await fetch(`${viewer.url}/feature/${featureId}?records-after=abc`);
  expect(response.status).toBe(400);
  expect(await response.text()).toContain('records-after');
});
