/**
 * @module report/report-assets — the CSS and the browser script inlined into the HTML report. The script is plain
 * ES2017 kept as a string (so no bundler or transpiler helper can leak into it); it reads the embedded JSON, and
 * builds cards on demand (a page at a time as the reader scrolls), with textContent only: no data string is ever
 * parsed as HTML.
 *
 * Data layout (built by html-report.ts): { kinds: string[], main: number, kp: the prompt version of each kind (as
 * most features have it; null = the simulation's), width: characters per token id, vocab: string[], names: string[]
 * (scorers, judges, prompt versions, sources), features: [{ k: key, m: model, l: layer, t: kind label, i: index,
 * s: status, r: reason, e: explanation, d: density, x: max activation, v: score per kind (null = undefined),
 * w: {kind index: null reason}, p?: {kind index: prompt version where it differs from kp}, q: heat-map scale
 * (largest shown true activation), rec: [[source, simulated 0|1, packed]], j?: [[scorer, judge, prompt version (names
 * indices), examples, answered, right, [[token ids packed, highlighted positions, source (names index), truth 0|1,
 * answer 0|1|null, p(yes)|null, tokens cut before, tokens cut after]]]], c?: best-of-n candidates [[index, parent|null,
 * kind 0 sample|1 revision, text, calibration score|null, held-out score|null, selected 0|1]] }] } where `packed` is the record-packing.ts
 * layout (token ids, true activations 0–63 of q, expected 0–62 of 10, 63 = missing).
 */

export const REPORT_STYLE = `
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --soft: #f6f8fa; --accent: #0969da; --heat: 234, 88, 12; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { padding: 16px 24px 8px; border-bottom: 1px solid var(--line); background: var(--soft); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
main { padding: 0 24px 48px; max-width: 1400px; }
.meta { color: var(--muted); margin: 2px 0; }
.meta code { background: #eaeef2; padding: 0 4px; border-radius: 4px; }
.baseline-banner { margin: 8px 0; padding: 6px 10px; background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; }
table.board { border-collapse: collapse; font-variant-numeric: tabular-nums; width: 100%; }
table.board th, table.board td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
table.board th { background: var(--soft); font-weight: 600; }
table.board td.num { text-align: right; white-space: nowrap; }
table.board tr[data-layer] { cursor: pointer; }
table.board tr[data-layer]:hover { background: #f0f6ff; }
.explain-cell { max-width: 320px; color: var(--muted); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
svg.chart { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; font-size: 10px; }
svg.chart .bar { fill: #6e9ee8; }
svg.chart .dot { fill: #0969da; fill-opacity: 0.45; }
svg.chart .cell { fill: #0969da; }
svg.chart .axis { stroke: #8c959f; }
svg.chart .grid { stroke: #d8dee4; }
svg.chart .tick, svg.chart .caption { fill: var(--muted); }
svg.chart .chart-title { fill: var(--fg); font-weight: 600; font-size: 11px; }
.small-multiples { display: flex; flex-wrap: wrap; gap: 8px; }
.controls { position: sticky; top: 0; z-index: 2; background: var(--bg); padding: 8px 0; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.controls input[type=search] { flex: 1 1 280px; padding: 6px 10px; font-size: 14px; border: 1px solid var(--line); border-radius: 6px; }
.controls select { padding: 5px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); }
#card-count { color: var(--muted); }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; margin: 12px 0; background: var(--bg); content-visibility: auto; contain-intrinsic-size: auto 640px; }
.card-head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.card-key { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-weight: 600; }
.badge { font-size: 12px; padding: 0 6px; border-radius: 10px; border: 1px solid var(--line); color: var(--muted); }
.badge.failed { color: #cf222e; border-color: #cf222e; }
.badge.skipped { color: #9a6700; border-color: #d4a72c; }
.card-score { margin-left: auto; font-variant-numeric: tabular-nums; font-weight: 600; }
.explanation { margin: 6px 0; font-size: 15px; }
.reason { margin: 6px 0; color: #9a6700; }
.scores { display: flex; flex-wrap: wrap; gap: 4px 14px; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.scores b { color: var(--fg); font-weight: 600; }
.scores .family { color: var(--fg); }
.scores .prompt { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 11px; }
.scores .null-reason { color: #9a6700; }
.judged { margin-top: 8px; }
.candidates { margin-top: 8px; }
.candidates tr.selected td { font-weight: 600; }
.judged-label { font-size: 12px; color: var(--muted); }
table.answers { border-collapse: collapse; font-size: 12px; width: 100%; }
table.answers th, table.answers td { border-bottom: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
table.answers th { color: var(--muted); font-weight: 600; }
table.answers td.tokens { width: 60%; }
table.answers tr.wrong td.answer { color: #cf222e; font-weight: 600; }
.tok.hl { background: rgba(9, 105, 218, 0.18); outline: 1px solid #0969da; outline-offset: -1px; }
.record { margin-top: 8px; }
.record-label { font-size: 12px; color: var(--muted); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
.pane { border: 1px solid var(--line); border-radius: 6px; padding: 4px 6px; background: var(--soft); }
.pane-label { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.tokens { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.7; }
.tok { white-space: pre-wrap; border-radius: 2px; }
.tok.missing { outline: 1px dashed #8c959f; outline-offset: -1px; }
#show-more { margin: 12px 0; padding: 6px 14px; border: 1px solid var(--line); border-radius: 6px; background: var(--soft); cursor: pointer; }
.legend { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); font-size: 12px; }
.legend .swatch { display: inline-block; width: 90px; height: 10px; background: linear-gradient(to right, rgba(var(--heat), 0), rgba(var(--heat), 1)); border: 1px solid var(--line); }
footer { color: var(--muted); font-size: 12px; padding: 16px 24px; border-top: 1px solid var(--line); }
`;

export const REPORT_SCRIPT = `
(function () {
  'use strict';
  var scriptStart = performance.now();
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var parsedAt = performance.now();
  var kinds = data.kinds, vocab = data.vocab, features = data.features, width = data.width;
  var PAGE = 40;
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var DECODE = new Int8Array(128);
  for (var c = 0; c < 64; c++) DECODE[ALPHABET.charCodeAt(c)] = c;
  var $ = function (id) { return document.getElementById(id); };
  var search = $('search'), sortSelect = $('sort'), kindSelect = $('sort-kind'), layerSelect = $('layer-filter'), statusSelect = $('status-filter');
  var list = $('cards'), countLabel = $('card-count'), moreButton = $('show-more'), sentinel = $('sentinel');
  var order = [], shown = 0, haystacks = null, timer = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function natural(a, b) { return String(a).localeCompare(String(b), 'en', { numeric: true }); }
  function fmt(value, digits) { return value === null || value === undefined ? '—' : Number(value).toFixed(digits === undefined ? 3 : digits); }
  function scoreOf(i, kind) { var v = features[i].v[kind]; return v === null || v === undefined ? null : v; }
  function statusOf(f, kind) {
    if (f.s === 'failed') return 'failed';
    var v = f.v[kind];
    return v === null || v === undefined ? 'null' : 'scored';
  }

  kinds.forEach(function (kind, i) {
    var option = el('option', null, kind);
    option.value = String(i);
    if (i === data.main) option.selected = true;
    kindSelect.appendChild(option);
  });
  var layers = [], seen = Object.create(null);
  features.forEach(function (f) { if (!seen[f.l]) { seen[f.l] = true; layers.push(f.l); } });
  layers.sort(natural).forEach(function (layer) {
    var option = el('option', null, 'layer ' + layer);
    option.value = layer;
    layerSelect.appendChild(option);
  });

  function haystack(i) {
    if (!haystacks) {
      haystacks = features.map(function (f) { return (f.k + ' ' + (f.e || '') + ' ' + f.s + ' ' + (f.r || '')).toLowerCase(); });
    }
    return haystacks[i];
  }

  function compute() {
    var terms = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var layer = layerSelect.value, status = statusSelect.value, kind = Number(kindSelect.value);
    order = [];
    for (var i = 0; i < features.length; i++) {
      var f = features[i];
      if (layer !== '*' && f.l !== layer) continue;
      if (status !== '*' && statusOf(f, kind) !== status) continue;
      if (terms.length) {
        var text = haystack(i), ok = true;
        for (var j = 0; j < terms.length; j++) if (text.indexOf(terms[j]) < 0) { ok = false; break; }
        if (!ok) continue;
      }
      order.push(i);
    }
    var byNullable = function (get, direction) {
      return function (a, b) {
        var x = get(a), y = get(b);
        if (x === null && y === null) return a - b;
        if (x === null) return 1;
        if (y === null) return -1;
        return direction * (x - y) || a - b;
      };
    };
    var sort = sortSelect.value;
    if (sort === 'score-desc') order.sort(byNullable(function (i) { return scoreOf(i, kind); }, -1));
    else if (sort === 'score-asc') order.sort(byNullable(function (i) { return scoreOf(i, kind); }, 1));
    else if (sort === 'density') order.sort(byNullable(function (i) { return features[i].d; }, -1));
    else if (sort === 'index') order.sort(function (a, b) { return features[a].i - features[b].i || natural(features[a].l, features[b].l) || a - b; });
    else order.sort(function (a, b) { return natural(features[a].m, features[b].m) || natural(features[a].l, features[b].l) || natural(features[a].t, features[b].t) || features[a].i - features[b].i || a - b; });
  }

  function tokenText(token) {
    if (token === '') return '\\u2205';
    return token.replace(/\\n/g, '\\u21b5').replace(/\\t/g, '\\u2192');
  }

  /** A packed record: token ids, true activation levels (0-63 of the scale), expected levels (0-62 of 10, 63 missing). */
  function unpack(packed) {
    var n = packed.length / (width + 2), ids = new Array(n), acts = new Array(n), sims = new Array(n), t, k;
    for (t = 0; t < n; t++) {
      var id = 0;
      for (k = 0; k < width; k++) id = id * 64 + DECODE[packed.charCodeAt(t * width + k)];
      ids[t] = id;
    }
    for (t = 0; t < n; t++) acts[t] = DECODE[packed.charCodeAt(n * width + t)];
    for (t = 0; t < n; t++) sims[t] = DECODE[packed.charCodeAt(n * width + n + t)];
    return { ids: ids, acts: acts, sims: sims };
  }

  function pane(label, record, scale, simulated, showSimulated) {
    var box = el('div', 'pane');
    box.appendChild(el('div', 'pane-label', label));
    var line = el('div', 'tokens');
    for (var k = 0; k < record.ids.length; k++) {
      var token = vocab[record.ids[k]];
      var span = el('span', 'tok', tokenText(token));
      var sim = record.sims[k];
      var simText = !simulated ? 'not simulated' : sim === 63 ? 'missing' : '\u2248 ' + fmt(sim * 10 / 62, 1);
      span.title = token + '  \u00b7 true \u2248 ' + fmt(record.acts[k] * scale / 63, 2) + '  \u00b7 simulated ' + simText;
      var alpha = showSimulated ? (simulated && sim !== 63 ? sim / 62 : 0) : record.acts[k] / 63;
      if (showSimulated && simulated && sim === 63) span.className = 'tok missing';
      if (alpha > 0) span.style.backgroundColor = 'rgba(234, 88, 12, ' + alpha.toFixed(3) + ')';
      line.appendChild(span);
    }
    box.appendChild(line);
    return box;
  }

  function card(i) {
    var f = features[i], kind = Number(kindSelect.value);
    var article = el('article', 'card');
    article.setAttribute('data-key', f.k);
    var head = el('div', 'card-head');
    head.appendChild(el('span', 'card-key', f.k));
    if (f.s !== 'scored') head.appendChild(el('span', 'badge ' + f.s, f.s));
    head.appendChild(el('span', 'badge', f.d === null ? 'density —' : 'density ' + Number(f.d).toPrecision(2)));
    head.appendChild(el('span', 'card-score', kinds[kind] + ' ' + fmt(scoreOf(i, kind))));
    article.appendChild(head);
    if (f.e !== null) article.appendChild(el('p', 'explanation', f.e));
    if (f.r) article.appendChild(el('p', 'reason', f.s + ': ' + f.r));
    var families = [], byFamily = Object.create(null);
    kinds.forEach(function (name, k) {
      var value = f.v[k];
      if ((value === null || value === undefined) && !(f.w && f.w[k])) return; // a kind this feature has no score of
      var dot = name.indexOf('.'), family = dot < 0 ? name : name.slice(0, dot);
      if (!byFamily[family]) { byFamily[family] = []; families.push(family); }
      byFamily[family].push(k);
    });
    families.forEach(function (family) {
      var line = el('div', 'scores');
      line.appendChild(el('span', 'family', family));
      var prompts = [], reasons = [];
      byFamily[family].forEach(function (k) {
        var prompt = f.p && Object.prototype.hasOwnProperty.call(f.p, k) ? f.p[k] : data.kp[k];
        if (prompt && prompts.indexOf(prompt) < 0) prompts.push(prompt);
        var value = f.v[k];
        var item = el('span', null, kinds[k] + ' ');
        item.appendChild(el('b', null, value === null || value === undefined ? 'null' : fmt(value)));
        if ((value === null || value === undefined) && f.w && f.w[k]) {
          item.title = f.w[k];
          if (reasons.indexOf(f.w[k]) < 0) reasons.push(f.w[k]);
        }
        line.appendChild(item);
      });
      if (prompts.length) line.insertBefore(el('span', 'prompt', 'prompt ' + prompts.join(', ')), line.childNodes[1]);
      if (reasons.length) line.appendChild(el('span', 'null-reason', 'null: ' + reasons.join('; ')));
      article.appendChild(line);
    });
    var counters = { top: 0, random: 0 };
    f.rec.forEach(function (entry) {
      var source = entry[0], simulated = entry[1] === 1, record = unpack(entry[2]);
      counters[source] = (counters[source] || 0) + 1;
      var block = el('div', 'record');
      block.appendChild(el('div', 'record-label', source + ' record ' + counters[source] + (simulated ? '' : ' (not simulated)')));
      var pair = el('div', 'pair');
      pair.appendChild(pane('true activations (shaded to the max shown, ' + fmt(f.q, 2) + ')', record, f.q, simulated, false));
      pair.appendChild(pane('simulated from the explanation (0\u201310)', record, f.q, simulated, true));
      block.appendChild(pair);
      article.appendChild(block);
    });
    (f.j || []).forEach(function (set) { article.appendChild(judgedBlock(set)); });
    if (f.c) article.appendChild(candidatesBlock(f.c));
    return article;
  }

  /** The best-of-n candidates the explanation was chosen from: one table row each, the selected one marked. */
  function candidatesBlock(candidates) {
    var block = el('div', 'candidates');
    block.appendChild(el('div', 'judged-label', candidates.length + ' candidate explanations, chosen on the calibration split' +
      ' (held out: the score split, measured for the winner, or all with --score-all-candidates)'));
    var table = el('table', 'answers');
    var head = el('tr');
    ['#', 'kind', 'calibration', 'held out', 'selected', 'explanation'].forEach(function (title) { head.appendChild(el('th', null, title)); });
    table.appendChild(head);
    candidates.forEach(function (candidate) {
      var row = el('tr', candidate[6] === 1 ? 'selected' : null);
      row.appendChild(el('td', null, String(candidate[0])));
      row.appendChild(el('td', null, candidate[2] === 1 ? 'revision of #' + candidate[1] : 'sample'));
      row.appendChild(el('td', 'num', fmt(candidate[4])));
      row.appendChild(el('td', 'num', fmt(candidate[5])));
      row.appendChild(el('td', null, candidate[6] === 1 ? 'selected' : ''));
      row.appendChild(el('td', 'candidate-text', candidate[3]));
      table.appendChild(row);
    });
    block.appendChild(table);
    return block;
  }

  /** Token ids packed alone (a judged window): width characters each. */
  function unpackIds(packed) {
    var n = packed.length / width, ids = new Array(n);
    for (var t = 0; t < n; t++) {
      var id = 0;
      for (var k = 0; k < width; k++) id = id * 64 + DECODE[packed.charCodeAt(t * width + k)];
      ids[t] = id;
    }
    return ids;
  }

  function yesNo(value) { return value === null || value === undefined ? 'unreadable' : value === 1 ? 'yes' : 'no'; }

  /** A judged scorer's answers next to the truth: one table row per shown example. */
  function judgedBlock(set) {
    var names = data.names, examples = set[6];
    var block = el('div', 'judged');
    block.setAttribute('data-scorer', names[set[0]]);
    block.appendChild(el('div', 'judged-label', names[set[0]] + ': judge ' + (names[set[1]] || '\u2014') + ' \u00b7 prompt ' + names[set[2]] +
      ' \u00b7 ' + set[5] + ' of ' + set[4] + ' answers right' + (set[3] > set[4] ? ' (' + (set[3] - set[4]) + ' unreadable)' : '') +
      ' \u00b7 ' + examples.length + ' of ' + set[3] + ' examples shown (mistakes picked first)'));
    var table = el('table', 'answers');
    var head = el('tr');
    ['example', 'source', 'truth', 'judge', 'p(yes)'].forEach(function (title) { head.appendChild(el('th', null, title)); });
    table.appendChild(head);
    examples.forEach(function (example) {
      var row = el('tr', example[4] === example[3] ? 'right' : 'wrong');
      var cell = el('td', 'tokens');
      if (example[6] > 0) cell.appendChild(el('span', 'cut', '\u2026'));
      var ids = unpackIds(example[0]), marked = example[1];
      for (var t = 0; t < ids.length; t++) {
        var token = vocab[ids[t]];
        var span = el('span', marked.indexOf(t) >= 0 ? 'tok hl' : 'tok', tokenText(token));
        span.title = token;
        cell.appendChild(span);
      }
      if (example[7] > 0) cell.appendChild(el('span', 'cut', '\u2026'));
      row.appendChild(cell);
      row.appendChild(el('td', null, names[example[2]]));
      row.appendChild(el('td', 'truth', yesNo(example[3])));
      row.appendChild(el('td', 'answer', yesNo(example[4])));
      row.appendChild(el('td', 'num', example[5] === null ? '\u2014' : fmt(example[5], 2)));
      table.appendChild(row);
    });
    block.appendChild(table);
    return block;
  }

  function renderMore() {
    var end = Math.min(order.length, shown + PAGE);
    var fragment = document.createDocumentFragment();
    for (var n = shown; n < end; n++) fragment.appendChild(card(order[n]));
    list.appendChild(fragment);
    shown = end;
    countLabel.textContent = 'showing ' + shown.toLocaleString('en') + ' of ' + order.length.toLocaleString('en') + ' matching (' + features.length.toLocaleString('en') + ' features)';
    moreButton.hidden = shown >= order.length;
    document.body.setAttribute('data-cards', String(shown));
  }

  function refresh() {
    compute();
    list.textContent = '';
    shown = 0;
    renderMore();
  }

  search.addEventListener('input', function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 80);
  });
  [sortSelect, kindSelect, layerSelect, statusSelect].forEach(function (select) { select.addEventListener('change', refresh); });
  moreButton.addEventListener('click', renderMore);
  Array.prototype.forEach.call(document.querySelectorAll('tr[data-layer]'), function (row) {
    row.addEventListener('click', function () {
      layerSelect.value = row.getAttribute('data-layer');
      refresh();
      $('features').scrollIntoView();
    });
  });
  if ('IntersectionObserver' in window) {
    new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; }) && shown < order.length) renderMore();
    }, { rootMargin: '600px' }).observe(sentinel);
  }
  refresh();
  window.__autointerpReport = { scriptStartMs: scriptStart, dataParsedMs: parsedAt, firstCardsMs: performance.now(), features: features.length };
  document.body.setAttribute('data-ready', 'true');
})();
`;
