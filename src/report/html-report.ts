/**
 * @module report/html-report — one self-contained HTML file for a run: run facts, leaderboard per layer, score
 * histograms (overall and per leaderboard row), score vs activation density, and a card per feature (explanation, scores
 * with their scorers' prompt versions, true vs simulated token heat maps for top and random score records, a few of
 * each judged scorer's answers next to the truth, the best-of-n candidates with their calibration and held-out
 * scores) that the page builds on demand, with search,
 * filters and sorting. No network at view time: CSS and script are inline, a Content-Security-Policy allows
 * nothing else to load or run (the script is allowed by its hash only), and the feature data is JSON in a
 * `<script type="application/json">` block that is parsed, never evaluated. Server-rendered text goes through
 * escapeHtml; the script writes data with textContent only.
 */
import { createHash } from 'node:crypto';
import {
  hasAblationColumn,
  leaderboardColumns,
  scorerColumnKindsOf,
  simulationModeLabel,
} from './format-leaderboard.ts';
import type { LeaderboardRow } from './leaderboard.ts';
import { escapeHtml, jsonForScriptBlock } from './html-escape.ts';
import { packRecord, packTokenIds, tokenIdWidth } from './record-packing.ts';
import { REPORT_SCRIPT, REPORT_STYLE } from './report-assets.ts';
import { stableMean } from './stable-mean.ts';
import type { ReportData } from './report-data.ts';
import { densityScatterSvg, histogramSvg, scoreRange } from './svg-charts.ts';

/** At most this many per-group histograms (the overall one always shows). */
const MAX_GROUP_HISTOGRAMS = 24;

/** A candidate's score as the card prints it (3 decimals), kept small in the page's JSON. */
const roundedScore = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);

/** The compact JSON the page script reads (layout documented in report-assets.ts). */
export function reportClientData(data: ReportData): unknown {
  const kinds =
    data.scoreKinds.includes(data.scoreKind) || data.scoreKinds.length === 0
      ? [...data.scoreKinds]
      : [data.scoreKind, ...data.scoreKinds];
  if (kinds.length === 0) kinds.push(data.scoreKind);
  const vocab: string[] = [];
  const tokenIds = new Map<string, number>();
  const tokenId = (token: string) => {
    let id = tokenIds.get(token);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(token);
      tokenIds.set(token, id);
    }
    return id;
  };
  const names: string[] = [];
  const nameIds = new Map<string, number>();
  const nameId = (name: string) => {
    let id = nameIds.get(name);
    if (id === undefined) {
      id = names.length;
      names.push(name);
      nameIds.set(name, id);
    }
    return id;
  };
  // First pass: the vocabulary (token ids must be known to fix their width before packing).
  const recordIds = data.features.map((f) => f.records.map((record) => record.tokens.map(tokenId)));
  const judgedIds = data.features.map((f) => f.judgements.map((set) => set.shown.map((e) => e.tokens.map(tokenId))));
  const width = tokenIdWidth(vocab.length);
  // each kind's prompt version as most of its scores have it; a feature lists only where its own differs
  const kindPrompts = kinds.map((kind) => {
    const counts = new Map<string | null, number>();
    for (const f of data.features) {
      const version = f.scores[kind]?.promptVersion;
      if (version !== undefined) counts.set(version, (counts.get(version) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
  });
  const features = data.features.map((f, featureIndex) => {
    const nullReasons: Record<number, string> = {};
    kinds.forEach((kind, k) => {
      const score = f.scores[kind];
      if (score && score.value === null && score.reason) nullReasons[k] = score.reason;
    });
    // heat-map scale: the largest true activation shown for this feature (as the prompts normalize)
    const scale = Math.max(0, ...f.records.flatMap((record) => record.activations));
    const prompts: Record<number, string | null> = {};
    kinds.forEach((kind, k) => {
      const score = f.scores[kind];
      if (score && score.promptVersion !== kindPrompts[k]) prompts[k] = score.promptVersion;
    });
    const judged = f.judgements.map((set, s) => [
      nameId(set.scorer),
      nameId(set.judge),
      nameId(set.promptVersion),
      set.total,
      set.answered,
      set.right,
      set.shown.map((example, e) => [
        packTokenIds(judgedIds[featureIndex]![s]![e]!, width),
        example.highlighted ?? [],
        nameId(example.source),
        example.truth ? 1 : 0,
        example.predicted === null ? null : example.predicted ? 1 : 0,
        example.probability === null ? null : Math.round(example.probability * 1000) / 1000,
        example.cutBefore ?? 0,
        example.cutAfter ?? 0,
      ]),
    ]);
    return {
      k: f.key,
      m: f.model,
      l: f.layer,
      t: f.sae ? `${f.kind} ${f.sae}` : f.kind,
      i: f.index,
      s: f.status,
      r: f.reason,
      e: f.explanation,
      d: f.density,
      x: f.maxActivation,
      v: kinds.map((kind) => f.scores[kind]?.value ?? null),
      w: nullReasons,
      ...(Object.keys(prompts).length > 0 ? { p: prompts } : {}),
      ...(judged.length > 0 ? { j: judged } : {}),
      ...(f.candidates.length > 0
        ? {
            c: f.candidates.map((candidate) => [
              candidate.index,
              candidate.parent,
              candidate.kind === 'revision' ? 1 : 0,
              candidate.text,
              roundedScore(candidate.calibrationScore),
              roundedScore(candidate.heldOutScore),
              candidate.selected ? 1 : 0,
            ]),
          }
        : {}),
      q: scale,
      rec: f.records.map((record, r) => [
        record.source,
        record.expected ? 1 : 0,
        packRecord(recordIds[featureIndex]![r]!, record.activations, record.expected, scale, width),
      ]),
    };
  });
  return { kinds, main: kinds.indexOf(data.scoreKind), kp: kindPrompts, width, vocab, names, features };
}

const fixed = (value: number | null, digits = 3) => (value === null ? '—' : value.toFixed(digits));
const percent = (value: number | null) => (value === null ? '—' : `${Math.round(value * 100)}%`);

/** A leaderboard row's feature kind as the boards print it: `neuron`, `sae`, or `sae <name>`. */
const groupKind = (kind: string, sae: string) => (sae ? `${kind} ${sae}` : kind);

function leaderboardTable(rows: readonly LeaderboardRow[], simulator: string): string {
  if (rows.length === 0) return '<p class="meta">No scores of this kind.</p>';
  // as the terminal board: the ablation column only where the run has ablation scores
  const withAblation = hasAblationColumn(rows);
  const scorerKinds = scorerColumnKindsOf(rows);
  const head = leaderboardColumns(rows);
  const ref = (r: LeaderboardRow['best']) =>
    r
      ? `<td class="explain-cell"><b>${escapeHtml(`#${r.index} ${fixed(r.value, 2)}`)}</b> ${escapeHtml(r.explanation ?? '')}</td>`
      : '<td>—</td>';
  const body = rows
    .map(
      (row) =>
        `<tr data-layer="${escapeHtml(row.layer)}" title="show this layer's features">` +
        `<td>${escapeHtml(row.model)}</td><td>${escapeHtml(row.layer)}</td><td>${escapeHtml(groupKind(row.featureKind, row.sae))}</td>` +
        `<td>${escapeHtml(simulationModeLabel(simulator, row))}</td>` +
        `<td class="num">${row.features}</td><td class="num">${row.scored}</td><td class="num">${row.undefinedScores}</td><td class="num">${row.failed}</td>` +
        `<td class="num">${fixed(row.mean)}</td><td class="num">${row.ci ? escapeHtml(`[${fixed(row.ci.low, 2)}, ${fixed(row.ci.high, 2)}]`) : '—'}</td>` +
        `<td class="num">${fixed(row.median)}</td><td class="num">${percent(row.fractionAtLeast05)}</td><td class="num">${percent(row.fractionAtLeast08)}</td>` +
        scorerKinds
          .map(
            (kind) =>
              `<td class="num" title="${escapeHtml(`mean ${kind}`)}">${fixed(row.scorerMeans?.[kind] ?? null)}</td>`,
          )
          .join('') +
        (withAblation ? `<td class="num" title="median ablation.all">${fixed(row.ablationMedian ?? null)}</td>` : '') +
        ref(row.best) +
        ref(row.worst) +
        `</tr>`,
    )
    .join('');
  return `<table class="board" id="leaderboard"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body}</tbody></table>`;
}

function scoreKindsTable(data: ReportData): string {
  const rows = data.scoreKinds.map((kind) => {
    const values = data.features.map((f) => f.scores[kind]?.value).filter((v): v is number => typeof v === 'number');
    const nulls = data.features.filter((f) => f.scores[kind] && f.scores[kind]!.value === null).length;
    const mean = stableMean(values);
    return `<tr><td>${escapeHtml(kind)}</td><td class="num">${values.length}</td><td class="num">${nulls}</td><td class="num">${fixed(mean)}</td></tr>`;
  });
  return `<table class="board" style="width:auto"><thead><tr><th>score kind</th><th>scored</th><th>null</th><th>mean</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function charts(data: ReportData): string {
  const scored = data.features.filter((f) => typeof f.scores[data.scoreKind]?.value === 'number');
  const values = scored.map((f) => f.scores[data.scoreKind]!.value!);
  const range = scoreRange(data.scoreKind, values);
  const overall = histogramSvg(values, { title: `${data.scoreKind}: all features`, ...range, width: 420, height: 180 });
  // one histogram per leaderboard group (model, layer, feature kind and SAE: neurons and each SAE apart, as the
  // board keeps them); rows that differ only in simulation mode share one
  const groupKey = (model: string, layer: string, kind: string) => JSON.stringify([model, layer, kind]);
  const groups = new Map<string, string>();
  for (const row of data.leaderboard.rows) {
    const kind = groupKind(row.featureKind, row.sae);
    groups.set(groupKey(row.model, row.layer, kind), `${row.model} · layer ${row.layer} · ${kind}`);
  }
  const perGroup = [...groups].slice(0, MAX_GROUP_HISTOGRAMS).map(([key, title]) =>
    histogramSvg(
      scored
        .filter((f) => groupKey(f.model, f.layer, groupKind(f.kind, f.sae)) === key)
        .map((f) => f.scores[data.scoreKind]!.value!),
      { title, ...range, bins: 10, width: 250, height: 130 },
    ),
  );
  const scatter = densityScatterSvg(
    scored.map((f) => ({ density: f.density, score: f.scores[data.scoreKind]!.value!, label: f.key })),
    { title: `${data.scoreKind} vs activation density`, ...range },
  );
  return (
    `<div class="charts">${overall}${scatter}</div>` +
    (perGroup.length > 1
      ? `<h2>Per leaderboard row</h2><div class="small-multiples">${perGroup.join('')}</div>${groups.size > MAX_GROUP_HISTOGRAMS ? `<p class="meta">${groups.size - MAX_GROUP_HISTOGRAMS} more rows not drawn; see the leaderboard.</p>` : ''}`
      : '')
  );
}

export function renderReportHtml(data: ReportData): string {
  const { run } = data;
  const script = REPORT_SCRIPT;
  const scriptHash = createHash('sha256').update(script, 'utf8').digest('base64');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const title = `autointerp report — run ${run.id} ${run.name}`;
  const meta = [
    `run <code>${run.id}</code> · status ${escapeHtml(run.status)}${run.tags.length ? ` · tags ${run.tags.map((t) => `<code>${escapeHtml(t)}</code>`).join(' ')}` : ''}`,
    `explainer <code>${escapeHtml(run.explainer)}</code> · simulator <code>${escapeHtml(run.simulator)}</code> · prompts <code>${escapeHtml(run.promptVersions.explain ?? '?')}</code> <code>${escapeHtml(run.promptVersions.simulate ?? '?')}</code>`,
    `source ${escapeHtml(run.source)} · ${escapeHtml(run.codeVersion)} · started ${escapeHtml(run.startedAt)}${run.finishedAt ? ` · finished ${escapeHtml(run.finishedAt)}` : ''}`,
    `${data.features.length} features: ${data.counts.scored} scored, ${data.counts.skipped} skipped, ${data.counts.failed} failed · report generated ${escapeHtml(data.generatedAt)}`,
  ];
  const modes = new Set(data.leaderboard.rows.map((row) => row.simulationMode).filter((mode) => mode !== null));
  const notes = [
    ...(run.baseline
      ? [
          '<div class="baseline-banner">BASELINE: offline rule-based explainer/simulator, not an LLM — a floor to compare real runs against.</div>',
        ]
      : []),
    ...(modes.size > 1
      ? [
          `<div class="baseline-banner">Rows come from ${modes.size} simulation modes (${escapeHtml([...modes].join(', '))}); compare rows only within a mode.</div>`,
        ]
      : []),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="autointerp">
<title>${escapeHtml(title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<header class="top">
<h1>${escapeHtml(run.name)}</h1>
${meta.map((line) => `<p class="meta">${line}</p>`).join('\n')}
${notes.join('\n')}
</header>
<main>
<h2>Leaderboard per layer — ${escapeHtml(data.scoreKind)}</h2>
${leaderboardTable(data.leaderboard.rows, data.run.simulator)}
<h2>Score kinds</h2>
${scoreKindsTable(data)}
<h2>Scores</h2>
${charts(data)}
<h2 id="features">Features</h2>
<div class="controls">
<input id="search" type="search" placeholder="search explanations and feature keys (e.g. plural nouns, 3/neuron/12)" aria-label="search features">
<label>sort <select id="sort"><option value="score-desc">score, best first</option><option value="score-asc">score, worst first</option><option value="layer">layer, index</option><option value="index">index</option><option value="density">density</option></select></label>
<label>score <select id="sort-kind"></select></label>
<select id="layer-filter" aria-label="layer"><option value="*">all layers</option></select>
<select id="status-filter" aria-label="status"><option value="*">any status</option><option value="scored">scored</option><option value="null">null score</option><option value="failed">failed</option></select>
<span class="legend">0 <span class="swatch"></span> max</span>
<span id="card-count"></span>
</div>
<div id="cards"></div>
<div id="sentinel"></div>
<button id="show-more" type="button" hidden>show more</button>
</main>
<footer>autointerp — true activations are shaded relative to the largest shown for the feature; simulated values on the simulator's 0–10 scale; dashed tokens have no prediction (missing, not 0). Hover a token for its values.</footer>
<script id="report-data" type="application/json">${jsonForScriptBlock(reportClientData(data))}</script>
<script>${script}</script>
</body>
</html>
`;
}
