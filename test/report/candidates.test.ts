/**
 * Best-of-n candidates in the reports (issue 17): stored `explanation_candidates` rows reach the HTML report's card
 * data (kind, parent, calibration and held-out scores, selected; hostile text escaped and read back unchanged), the
 * JSON export, and nothing is added for a one-shot feature. The page's rendering: report-browser.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { exportJsonl, type ExportedFeature } from '../../src/report/export.ts';
import { renderReportHtml, reportClientData } from '../../src/report/html-report.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { candidateRun, HOSTILE, plantedCandidates } from './candidate-rows.ts';

describe('best-of-n candidates in the reports', () => {
  it('report data: every candidate of a feature from the store, in the order made; none for a one-shot feature', () => {
    const { store, run } = candidateRun();
    const data = buildReportData(store.db, run, { generatedAt: 'fixed' });
    expect(data.features.map((f) => f.candidates)).toEqual([plantedCandidates, []]);
  });

  it('HTML: the card data lists index, parent, kind, text, scores and the selected flag, escaped and read back', () => {
    const { store, run } = candidateRun();
    const data = buildReportData(store.db, run, { generatedAt: 'fixed' });
    const client = reportClientData(data) as { features: { c?: unknown[] }[] };
    expect(client.features[0]!.c).toEqual([
      [0, null, 0, 'prepositions', 0.21, 0.18, 0],
      [1, null, 0, HOSTILE, null, null, 0],
      [2, 0, 1, 'determiners, especially "the"', 0.912, 0.87, 1],
    ]);
    expect(client.features[1]!).not.toHaveProperty('c'); // one-shot: nothing added to the page
    const html = renderReportHtml(data);
    expect(html).not.toContain('<script>alert(1)');
    const block = html.split('<script id="report-data" type="application/json">')[1]!.split('</script>')[0]!;
    const embedded = JSON.parse(block) as { features: { c?: unknown[][] }[] };
    expect(embedded.features[0]!.c![1]![3]).toBe(HOSTILE);
  });

  it('JSON export: a best-of-n feature carries its candidates; a one-shot feature has none', () => {
    const { store, run } = candidateRun();
    const lines = exportJsonl(store.db, run)
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as ExportedFeature);
    expect(lines[0]!.candidates).toEqual(plantedCandidates);
    expect(lines[1]).not.toHaveProperty('candidates');
  });
});
