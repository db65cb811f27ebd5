import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../src/report/compare.ts';
import { formatComparisonText, formatRegressionText, warningLines } from '../../src/report/format-compare.ts';
import { regressionVerdict } from '../../src/report/regress.ts';
import { dataForStream, escapeTerminalText, jsonWithoutRawControls } from '../../src/report/terminal-text.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

/** Any C0 control but the line feed, DEL, or a C1 control: what must never reach a terminal from stored text. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const OSC_52 = '\u001b]52;c;cm0gLXJmIH4=\u0007';

describe('escapeTerminalText', () => {
  it('writes C0 and C1 controls and DEL as visible escapes and leaves other text alone', () => {
    expect(escapeTerminalText(OSC_52)).toBe('\\x1b]52;c;cm0gLXJmIH4=\\x07');
    expect(escapeTerminalText('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(escapeTerminalText('\u0000\u007f\u0080\u009b')).toBe('\\x00\\x7f\\x80\\x9b');
    expect(escapeTerminalText(' the “word” — café ≥ 0.5 日本 \u00a0')).toBe(' the “word” — café ≥ 0.5 日本 \u00a0');
  });
});

describe('compare and regress text', () => {
  it('escape control characters of run names, models and explanations, and leave the warnings to stderr', () => {
    const store = new ResultStore(openDatabase(':memory:'));
    const features = (shift: number) =>
      featuresWith(12, (i) => 0.4 + i / 50 + shift).map((feature) => ({
        ...feature,
        model: 'm\u001b[31m',
        explanation: `said ${OSC_52}`,
      }));
    const a = syntheticRun(store, { name: 'base\u0007', features: features(0) });
    const b = syntheticRun(store, {
      name: 'cand\u009b2J',
      features: features(-0.1),
      simulator: 'openai:other\u001b]0;title\u0007',
    });
    const comparison = compareRuns(store.db, store.getRun(a)!, store.getRun(b)!, { top: 3 });
    expect(comparison.warnings.length).toBeGreaterThan(0);
    const text = formatRegressionText(comparison, regressionVerdict(comparison, 0.02, 'significant'));
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('"base\\x07"');
    expect(text).toContain('"cand\\x9b2J"');
    expect(text).toContain('m\\x1b[31m');
    expect(text).toContain('said \\x1b]52;c;');
    expect(formatComparisonText(comparison)).not.toMatch(/WARNING/);
    const warnings = warningLines(comparison);
    expect(warnings[0]).toMatch(/^WARNING: different simulators/);
    for (const line of warnings) expect(line).not.toMatch(RAW_CONTROL);
  });
});

describe('data output (JSON, CSV, JSONL) and control characters', () => {
  const osc52 = '\u001b]52;c;aGk=\u0007';
  const csi8 = '\u009b31m';

  it('JSON: DEL and C1 controls become \\u escapes, the value read back is unchanged', () => {
    const value = { token: `a${csi8}\u007fb`, osc52 };
    const json = jsonWithoutRawControls(JSON.stringify(value));
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('CSV/JSONL: exact for a file or pipe; on a terminal every control but newline, CR and tab is shown escaped', () => {
    const text = `a,${osc52}\tb,${csi8}\r\nnext\n`;
    expect(dataForStream(text, { isTTY: false })).toBe(text);
    const shown = dataForStream(text, { isTTY: true });
    expect(shown).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
    expect(shown).toBe('a,\\x1b]52;c;aGk=\\x07\tb,\\x9b31m\r\nnext\n');
  });
});
