/**
 * @module cli/regress — `autointerp regress --baseline A --candidate B --max-drop 0.02`: the regression gate for
 * CI. Exit 0 pass, 1 regression, 2 usage or data error (unknown run, no shared features, too few pairs, --strict
 * refusal), 70 a bug (never read as a pass or a regression). The rule is in report/regress.ts and in `--help`.
 */
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { formatRegressionText, regressionToJson, warningLines } from '../report/format-compare.ts';
import { jsonWithoutRawControls } from '../report/terminal-text.ts';
import { REGRESSION_RULES, regressionJunit, regressionVerdict, type RegressionRule } from '../report/regress.ts';
import { EXIT_OK, EXIT_REGRESSION, UsageError } from './errors.ts';
import {
  addComparisonOptions,
  methodNote,
  nonNegativeNumber,
  runComparison,
  type ComparisonCliOptions,
} from './compare.ts';
import { requireOutputFolder } from './shared-options.ts';

interface RegressCliOptions extends ComparisonCliOptions {
  baseline?: string;
  candidate?: string;
  maxDrop: number;
  rule: RegressionRule;
  junit?: string;
}

const RULE_HELP = `
Rule (d = candidate − baseline score per paired feature; CI = percentile paired-bootstrap CI of mean d, normal approximation from 5000 pairs, 95% by default):
  significant (default)  REGRESSION when mean d < −max-drop AND CI upper bound < 0:
                         the drop is larger than the threshold and statistically significant.
                         With no true difference it fires with probability ≤ 2.5% (one side of a 95% CI).
  confident              REGRESSION only when CI upper bound < −max-drop: the drop exceeds the threshold
                         with confidence (stricter about firing; needs more features to catch a drop).
Features with a null score, a failure or absent on either side are not paired; they are counted and printed.
Runs that measured differently (simulator, simulation mode, simulation prompt, score records, source; for a
judged kind such as detection.balanced_accuracy its judge and its prompt instead of the simulation's) are
compared with a WARNING line on stderr; --strict refuses them (exit 2).

Exit codes: 0 pass · 1 regression · 2 usage or data error (unknown run, no shared scored features, fewer than
2 pairs, --strict refusal) · 70 a bug in autointerp — a crash never reads as a pass or as a regression.

Example (CI): autointerp regress --baseline tag:baseline --candidate latest --max-drop 0.02 --junit regress.xml`;

export function registerRegressCommand(program: Command): void {
  const command = program
    .command('regress')
    .description(
      'regression gate for CI: exit 1 when the candidate run scores worse than the baseline by more than --max-drop, significantly (rule and exit codes: regress --help)',
    )
    .option('--baseline <run>', 'baseline run: id, name, tag:NAME or latest')
    .option('--candidate <run>', 'candidate run: id, name, tag:NAME or latest')
    .option('--max-drop <x>', 'largest tolerated drop of the mean score, in score units', nonNegativeNumber, 0.02)
    .addOption(new Option('--rule <rule>', 'decision rule').choices(REGRESSION_RULES).default('significant'))
    .option('--junit <file>', 'also write a JUnit XML report (one test case, failed exactly when the exit code is 1)')
    .addHelpText('after', RULE_HELP);
  addComparisonOptions(command).action((options: RegressCliOptions) => {
    if (!options.baseline || !options.candidate)
      throw new UsageError('regress needs --baseline RUN and --candidate RUN');
    if (options.junit) requireOutputFolder(options.junit, '--junit');
    runComparison(options.baseline, options.candidate, options, (comparison) => {
      const verdict = regressionVerdict(comparison, options.maxDrop, options.rule);
      const text = formatRegressionText(comparison, verdict);
      if (options.junit) {
        writeFileSync(
          options.junit,
          regressionJunit(comparison, verdict, [...warningLines(comparison), text].join('\n')),
        );
      }
      process.stdout.write(
        options.json
          ? `${jsonWithoutRawControls(JSON.stringify(regressionToJson(comparison, verdict), null, 2))}\n`
          : `${text}\n${methodNote(comparison)}`,
      );
      process.exitCode = verdict.regression ? EXIT_REGRESSION : EXIT_OK;
    });
  });
}
