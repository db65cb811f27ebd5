import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cruiseWithRules, describeViolation, folderImports, layerOrder, layerRules } from '../scripts/layers.ts';

/**
 * TEMPORARY (issue 14, while the structure wave lands): violations that another engineer's work in progress still
 * causes, as describeViolation prints them, with whose area each is in. The test prints them and passes; any other
 * violation fails it. Only ever remove entries; the lead deletes this list when the check becomes strict.
 */
const knownViolations: readonly { violation: string; area: string }[] = [];

/** A first cruise reads every file of src/ with the TypeScript compiler: seconds, more on a loaded machine. */
const cruiseTimeout = 180_000;

describe('layers (.dependency-cruiser.cjs, docs/DESIGN.md §2)', () => {
  it(
    'src/ imports only downward, has no import cycle and never imports tests, benchmarks or scripts',
    async () => {
      const result = await cruiseWithRules(await layerRules());
      const found = result.summary.violations.map(describeViolation);
      const known = new Set(knownViolations.map((entry) => entry.violation));
      const stillKnown = knownViolations.filter((entry) => found.includes(entry.violation));
      if (stillKnown.length > 0) {
        console.warn(
          `known layer violations, still to fix:\n${stillKnown.map((entry) => `  ${entry.violation}  (${entry.area})`).join('\n')}`,
        );
      }
      expect(found.filter((violation) => !known.has(violation))).toEqual([]);
      // The cruise did see the code base (a wrong path or config would find nothing and pass).
      expect(result.summary.totalCruised).toBeGreaterThan(100);
      expect(layerOrder(folderImports(result))[0]).toBe('common');
    },
    cruiseTimeout,
  );

  describe('the rules', () => {
    const root = mkdtempSync(join(tmpdir(), 'autointerp-layers-'));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const files: Record<string, string> = {
      'src/common/clock.ts': 'export const now = 1;\n',
      'src/records/record.ts': "import { now } from '../common/clock.ts';\nexport const record = now;\n",
      'src/score/score.ts': "import { record } from '../records/record.ts';\nexport const score = record;\n",
      'src/subject/model.ts': "import { score } from '../score/score.ts';\nexport const model = score;\n",
      'src/llm/first.ts': "import { second } from './second.ts';\nexport const first = (): number => second();\n",
      'src/llm/second.ts': "import { first } from './first.ts';\nexport const second = (): number => first();\n",
      'src/store/uses-test.ts': "import { helper } from '../../test/helper.ts';\nexport const stored = helper;\n",
      'src/gadgets/gadget.ts': "import { now } from '../common/clock.ts';\nexport const gadget = now;\n",
      'test/helper.ts': 'export const helper = 1;\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }

    it(
      'catch an upward import, a cycle, an import of tests and a folder with no layer, and pass allowed imports',
      async () => {
        const { tsConfig: _projectTsConfig, cache: _projectCache, ...rules } = await layerRules();
        const result = await cruiseWithRules(rules, ['src'], root);
        const found = result.summary.violations.map(describeViolation).sort();
        expect(found).toEqual(
          [
            'no-circular: src/llm/first.ts → src/llm/second.ts → src/llm/first.ts',
            'no-src-to-tests-or-tools: src/store/uses-test.ts → test/helper.ts',
            'no-unknown-folder: src/gadgets/gadget.ts → src/common/clock.ts',
            'not-in-allowed: src/gadgets/gadget.ts → src/common/clock.ts',
            'not-in-allowed: src/store/uses-test.ts → test/helper.ts',
            'not-in-allowed: src/subject/model.ts → src/score/score.ts',
          ].sort(),
        );
        expect(layerOrder(folderImports(result))).toEqual([
          'common',
          'llm',
          'store',
          'gadgets',
          'records',
          'score',
          'subject',
        ]);
      },
      cruiseTimeout,
    );
  });
});
