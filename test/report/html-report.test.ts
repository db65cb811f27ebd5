import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScriptBlock } from '../../src/report/html-escape.ts';
import { renderReportHtml, reportClientData } from '../../src/report/html-report.ts';
import { packRecord, tokenIdWidth, unpackRecord, unpackTokenIds } from '../../src/report/record-packing.ts';
import { buildReportData } from '../../src/report/report-data.ts';
import { densityScatterSvg, histogramSvg, titleLines } from '../../src/report/svg-charts.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { judged, plantJudgements, plantScores } from './scorer-rows.ts';
import { syntheticRun } from './synthetic-store.ts';

const hostile = '</script><script>alert(1)</script><!--&\u2028';

function hostileReport() {
  const store = new ResultStore(openDatabase(':memory:'));
  const run = syntheticRun(store, {
    name: `run <u>${hostile}`,
    features: [
      {
        layer: '<i>0</i>',
        index: 1,
        value: 0.8,
        explanation: `explains ${hostile}`,
        density: null,
        records: [
          { split: 'score', source: 'top', tokens: [hostile, ' ok'], activations: [3, 0], expected: [9, null] },
        ],
      },
      { layer: 1, index: 2, value: 0.4 },
      { layer: 1, index: 3, value: null, status: 'failed', reason: `failed: ${hostile}` },
    ],
  });
  return buildReportData(store.db, store.getRun(run)!, { generatedAt: 'fixed' });
}

describe('HTML report (as text)', () => {
  it('escapes every data string in markup and in the embedded JSON, which reads back unchanged', () => {
    const data = hostileReport();
    const html = renderReportHtml(data);
    // exactly the two script elements of the template: nothing in the data opened or closed one
    expect(html.match(/<script/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    expect(html).not.toContain('<u>');
    expect(html).not.toContain('<i>0</i>');
    expect(html).toContain('&lt;u&gt;&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--&amp;');
    const json = html.match(/<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/)![1]!;
    expect(json).not.toMatch(/[<>&\u2028]/);
    const parsed = JSON.parse(json) as {
      width: number;
      vocab: string[];
      features: { e: string | null; r: string | null; l: string; q: number; rec: [string, number, string][] }[];
    };
    expect(parsed).toEqual(JSON.parse(JSON.stringify(reportClientData(data))));
    const first = parsed.features[0]!;
    expect(first.l).toBe('<i>0</i>');
    expect(first.e).toBe(`explains ${hostile}`);
    expect(first.q).toBe(3);
    const [source, simulated, packed] = first.rec[0]!;
    expect([source, simulated]).toEqual(['top', 1]);
    const record = unpackRecord(packed, first.q, parsed.width);
    expect(record.tokenIds.map((id) => parsed.vocab[id])).toEqual([hostile, ' ok']);
    expect(record.activations).toEqual([3, 0]);
    expect(record.expected[0]).toBeCloseTo(9, 0);
    expect(record.expected[1]).toBeNull(); // a missing prediction stays missing, not 0
    expect(parsed.features.find((f) => f.r?.includes('alert'))!.r).toBe(`failed: ${hostile}`);
  });

  it("escapes a judge's examples too: hostile tokens, sources, judges and prompt versions read back unchanged", () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const runId = syntheticRun(store, { name: 'judged', features: [{ layer: 0, index: 1, value: 0.8 }] });
    plantScores(store.db, runId, [
      { index: 1, kind: 'detection.balanced_accuracy', value: 0.75, promptVersion: `detection.v1${hostile}` },
    ]);
    plantJudgements(store.db, runId, [
      {
        index: 1,
        scorer: 'fuzzing',
        judge: `mock:${hostile}`,
        examples: [{ ...judged('x', true, { highlighted: [1] }), tokens: ['a', hostile, '<script>'], source: hostile }],
      },
    ]);
    const data = buildReportData(store.db, store.getRun(runId)!, { generatedAt: 'fixed' });
    const html = renderReportHtml(data);
    expect(html.match(/<script/gi)).toHaveLength(2);
    expect(html.match(/<\/script/gi)).toHaveLength(2);
    const json = html.match(/<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/)![1]!;
    expect(json).not.toMatch(/[<>&\u2028]/);
    const parsed = JSON.parse(json) as {
      width: number;
      vocab: string[];
      names: string[];
      kp: (string | null)[];
      features: { j: [number, number, number, number, number, number, [string, number[], number][]][] }[];
    };
    expect(parsed).toEqual(JSON.parse(JSON.stringify(reportClientData(data))));
    const [scorer, judge, , , , , examples] = parsed.features[0]!.j[0]!;
    expect([parsed.names[scorer], parsed.names[judge]]).toEqual(['fuzzing', `mock:${hostile}`]);
    const [ids, highlighted, source] = examples[0]!;
    const tokens = unpackTokenIds(ids, parsed.width);
    expect(tokens.map((id) => parsed.vocab[id])).toEqual(['a', hostile, '<script>']);
    expect(highlighted).toEqual([1]);
    expect(parsed.names[source]).toBe(hostile);
    expect(parsed.kp).toContain(`detection.v1${hostile}`);
  });

  it('allows only its own script (CSP hash) and no network at all', () => {
    const html = renderReportHtml(hostileReport());
    const script = html.match(/<script>([\s\S]*?)<\/script>/)![1]!;
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]*)"/)![1]!.replace(/&#39;/g, "'");
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    expect(csp).toMatch(/^default-src 'none';/);
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).not.toMatch(/@import|url\(/);
  });

  it('charts: histogram counts, out-of-range values in the end bins, scatter without densities counted', () => {
    const histogram = histogramSvg([-3, 0.05, 0.06, 0.95, 1], { title: 'h <x>', low: -1, high: 1, bins: 4 });
    expect(histogram.match(/<title>\d+ features in[^<]*<\/title>/g)).toEqual([
      '<title>1 features in [-1.00, -0.50)</title>',
      '<title>0 features in [-0.50, 0.00)</title>',
      '<title>2 features in [0.00, 0.50)</title>',
      '<title>2 features in [0.50, 1.00)</title>',
    ]);
    expect(histogram).toContain('1 outside [-1, 1] counted in the end bins');
    expect(histogram).toContain('h &lt;x&gt;');
    const scatter = densityScatterSvg(
      [
        { density: 0.01, score: 0.5, label: 'a' },
        { density: null, score: 0.2, label: 'b' },
        { density: 0, score: 0.2, label: 'c' },
      ],
      { title: 's', low: -1, high: 1 },
    );
    expect(scatter.match(/<circle/g)).toHaveLength(1);
    expect(scatter).toContain('2 without a density (imported records) or never active, not shown');
  });

  it('packs heat-map records compactly and reads them back up to the quantization', () => {
    expect([1, 64, 65, 4096, 4097].map(tokenIdWidth)).toEqual([1, 1, 2, 2, 3]);
    const activations = [0, 1.7, -0.2, 5, 2.5];
    const expected = [0.04, 10, null, 7.3, 3];
    const packed = packRecord([0, 63, 64, 4095, 70], activations, expected, 5, 2);
    expect(packed).toMatch(/^[A-Za-z0-9+/]{20}$/); // 5 tokens × (2 id + 1 + 1) characters
    const record = unpackRecord(packed, 5, 2);
    expect(record.tokenIds).toEqual([0, 63, 64, 4095, 70]);
    record.activations.forEach((a, i) =>
      expect(Math.abs(a - Math.max(0, activations[i]!))).toBeLessThanOrEqual(5 / 63 / 2 + 1e-12),
    );
    record.expected.forEach((e, i) =>
      expected[i] === null
        ? expect(e).toBeNull()
        : expect(Math.abs(e! - expected[i]!)).toBeLessThanOrEqual(10 / 62 / 2 + 1e-12),
    );
    expect(unpackRecord(packRecord([1], [3], null, 0, 1), 0, 1)).toEqual({
      tokenIds: [1],
      activations: [0],
      expected: [null],
    });
  });

  it('escapeHtml and jsonForScriptBlock', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    expect(escapeHtml(null)).toBe('');
    expect(jsonForScriptBlock({ s: '</script>&\u2029' })).toBe('{"s":"\\u003c/script\\u003e\\u0026\\u2029"}');
  });
});

describe('HTML report: leaderboard groups', () => {
  /** One hook point holding neurons and latents of two SAEs (as the demo's brown-1l groups), plus another model's layer. */
  function groupedReport(withAblation: boolean) {
    const store = new ResultStore(openDatabase(':memory:'));
    const group = (kind: 'neuron' | 'sae', sae: string | undefined, values: number[], ablation: number) =>
      values.map((value, i) => ({
        model: 'm',
        layer: 'blocks.0.mlp.hook_post',
        kind,
        ...(sae ? { sae } : {}),
        index: i,
        value,
        ...(withAblation ? { scores: { 'ablation.all': ablation + i / 100 } } : {}),
      }));
    const run = syntheticRun(store, {
      name: 'groups',
      features: [
        ...group('neuron', undefined, [0.1, 0.2, 0.3], 0.2),
        ...group('sae', 'sae-1x', [0.5, 0.6], 0.5),
        ...group('sae', 'sae-4x', [0.9, 0.92, 0.94, 0.96], 0.9),
        { model: 'other', layer: 'blocks.0.mlp.hook_post', index: 0, value: 0.4 },
      ],
    });
    return renderReportHtml(buildReportData(store.db, store.getRun(run)!, { generatedAt: 'fixed' }));
  }

  const smallMultiples = (html: string) => html.split('<div class="small-multiples">')[1]!.split('</div>')[0]!;

  it('draws one per-group histogram for each leaderboard row (neurons and each SAE apart), counting only its features', () => {
    const charts = smallMultiples(groupedReport(false))
      .split('</svg>')
      .filter((svg) => svg.includes('<svg'));
    const summary = charts.map((svg) => {
      const label = svg.match(/aria-label="([^"]*)"/)![1];
      const counts = [...svg.matchAll(/<title>(\d+) features in/g)].reduce((sum, m) => sum + Number(m[1]), 0);
      return [label, counts];
    });
    expect(summary).toEqual([
      ['m · layer blocks.0.mlp.hook_post · neuron', 3],
      ['m · layer blocks.0.mlp.hook_post · sae sae-1x', 2],
      ['m · layer blocks.0.mlp.hook_post · sae sae-4x', 4],
      ['other · layer blocks.0.mlp.hook_post · neuron', 1],
    ]);
  });

  it("the leaderboard has the terminal board's ablation column (median ablation.all) when the run has ablation scores", () => {
    const header = (html: string) =>
      [
        ...html
          .split('<table class="board" id="leaderboard">')[1]!
          .split('</thead>')[0]!
          .matchAll(/<th>([^<]*)<\/th>/g),
      ].map((m) => m[1]);
    const cells = (html: string) =>
      html
        .split('<table class="board" id="leaderboard">')[1]!
        .split('</tbody>')[0]!
        .split('<tr')
        .slice(2)
        .map((row) => [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]));
    const withAblation = groupedReport(true);
    const head = header(withAblation);
    expect(head.slice(12)).toEqual(['≥0.8', 'ablation', 'best', 'worst']);
    expect(cells(withAblation).map((row) => row[head.indexOf('ablation')])).toEqual(['0.210', '0.505', '0.915', '—']);
    expect(header(groupedReport(false))).not.toContain('ablation');
  });

  it('the mode cell says "baseline" for the offline simulator, as the terminal board does (its stored mode reads as an LLM\'s)', () => {
    const modeCells = (simulator: string) => {
      const store = new ResultStore(openDatabase(':memory:'));
      const run = syntheticRun(store, {
        name: 'mode',
        simulator,
        features: [{ model: 'm', layer: '0', index: 0, value: 0.5 }],
      });
      const html = renderReportHtml(buildReportData(store.db, store.getRun(run)!, { generatedAt: 'fixed' }));
      const row = html
        .split('<table class="board" id="leaderboard">')[1]!
        .split('</tbody>')[0]!
        .split('<tr')
        .slice(2)[0]!;
      return [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1])[3];
    };
    expect(modeCells('baseline:rule-based-v1')).toBe('baseline');
    expect(modeCells('mock:simulator')).toBe('prompt-logprobs');
  });

  it("a histogram's title and its count caption sit on separate lines; a long title breaks at its separators, is shortened past 3 lines, and is whole in a tooltip", () => {
    const title = 'a-very-long-model-name · layer blocks.11.mlp.hook_post · sae gpt2-small-res-jb-32k';
    const svg = histogramSvg([0.1, 0.2], { title, low: -1, high: 1, width: 220, height: 120 });
    const y = (cls: string) =>
      Math.max(
        ...[...svg.matchAll(new RegExp(`<text class="${cls}"[^>]* y="([\\d.]+)"`, 'g'))].map((m) => Number(m[1])),
      );
    expect(y('caption') - y('chart-title')).toBeGreaterThanOrEqual(12); // an 11px title line above a 10px caption line
    const shown = [...svg.matchAll(/<text class="chart-title"[^>]*>([^<]*)</g)].map((m) => m[1]!);
    expect(shown).toEqual(['a-very-long-model-name', 'layer blocks.11.mlp.hook_post', 'sae gpt2-small-res-jb-32k']);
    expect(titleLines(title, 30, 2)).toEqual(['a-very-long-model-name', 'layer blocks.11.mlp.hook_post…']);
    expect(titleLines('short · title', 30)).toEqual(['short · title']);
    expect(svg).toContain(`<title>${escapeHtml(title)}</title>`);
  });
});
