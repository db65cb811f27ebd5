/**
 * @module scripts/readme-walk — a new user's walk through the README: every command of its ```sh blocks, run in
 * README order in a scratch folder with `autointerp` on the PATH (this checkout's bin/autointerp.js) and its own
 * database, or skipped with the reason (an API key, your own server or files, the suite itself). Each command is
 * classified by WALK_RULES; a command no rule knows is an error, so a new README command gets walked.
 *
 *   npx tsx scripts/readme-walk.ts            # the quick commands (seconds; also run by test/readme-walk.test.ts)
 *   npx tsx scripts/readme-walk.ts --slow     # every runnable command, in README order (20 minutes on 2 busy cores)
 *
 * Exit 0 when every command it ran exited 0, else 1 with the failing command and its output.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export type WalkTier = 'quick' | 'slow' | 'skip';

/** One command of a README ```sh block (continuation lines joined, the trailing `# comment` dropped). */
export interface ReadmeCommand {
  /** README line number (1-based) where the command starts. */
  line: number;
  /** Index of its block among the README's ```sh blocks. */
  block: number;
  command: string;
}

export interface WalkRule {
  /** Matches the README command. */
  pattern: RegExp;
  tier: WalkTier;
  /** Why it is skipped, or what the walk changes and why. */
  note?: string;
  /** The command the walk runs instead (a bounded or already-installed variant); default the README's own. */
  run?: (command: string) => string;
  /** Runs before it (state the README assumes the user made, e.g. a tag). */
  before?: string;
  /** Runs in the repository root instead of the scratch folder (npm scripts). */
  inRepository?: boolean;
}

/** How each README command is walked; the first rule that matches wins. */
export const WALK_RULES: readonly WalkRule[] = [
  {
    pattern: /^npm install && npm start\b/,
    tier: 'slow',
    inRepository: true,
    run: () => 'npm start -- --no-progress',
    note: 'npm install is skipped: the walk runs in this installed checkout',
  },
  { pattern: /^npm test\b/, tier: 'skip', note: 'the test suite itself (this walk is part of it)' },
  { pattern: /^(OPENAI|ANTHROPIC)_API_KEY=/, tier: 'skip', note: 'needs a provider API key' },
  {
    pattern: /^autointerp run --resume 1\b/,
    tier: 'skip',
    note: 'continues the Batch-API run above, which needs an API key',
  },
  { pattern: /--base-url http:\/\/127\.0\.0\.1:8000\//, tier: 'skip', note: 'needs your own OpenAI-compatible server' },
  { pattern: /^autointerp serve-fake --port \d+ &$/, tier: 'slow' },
  {
    pattern: /^autointerp run --explainer openai-compatible:fake .*--base-url http:\/\/127\.0\.0\.1:\d+\/v1/,
    tier: 'slow',
    run: (command) => `${command} --limit 24 --no-progress`,
    note: 'bounded to 24 features',
  },
  { pattern: /^autointerp extract --model ~\//, tier: 'skip', note: 'needs your own GPT-2 folder and text' },
  {
    pattern: /^autointerp extract --records-out neurons\.jsonl$/,
    tier: 'slow',
    run: (command) => `${command} --no-progress`,
  },
  {
    pattern: /^autointerp run --records neurons\.jsonl$/,
    tier: 'slow',
    run: (command) => `${command} --limit 16 --no-progress`,
    note: 'bounded to 16 of the 512 neurons',
  },
  {
    pattern: /^npx tsx scripts\/brown-text\.ts --write-train /,
    tier: 'slow',
    run: (command) =>
      command.replace(
        'npx tsx scripts/',
        '"$AUTOINTERP_REPOSITORY"/node_modules/.bin/tsx "$AUTOINTERP_REPOSITORY"/scripts/',
      ),
    note: "npx tsx from the scratch folder: the checkout's tsx",
  },
  {
    pattern: /^autointerp (extract|train-sae|sae-metrics|steer)\b/,
    tier: 'slow',
    run: (command) => (/^autointerp (extract|train-sae)\b/.test(command) ? `${command} --no-progress` : command),
  },
  { pattern: /^autointerp leaderboard --run tag:nightly\b/, tier: 'quick', before: 'autointerp tag latest nightly' },
  {
    pattern: /^autointerp leaderboard --all --explainer 'openai:\*'/,
    tier: 'skip',
    note: 'lists OpenAI runs, which need an API key (with none it says so and exits 2)',
  },
  { pattern: /^autointerp compare tag:baseline latest$/, tier: 'quick', before: 'autointerp tag latest baseline' },
  { pattern: /^autointerp (report|export) --run latest\b/, tier: 'quick' },
];

/** The commands of the README's ```sh blocks, in order. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const lines = markdown.split('\n');
  let block = -1;
  let inBlock = false;
  let pending: ReadmeCommand | null = null;
  lines.forEach((raw, i) => {
    if (!inBlock && raw.startsWith('```sh')) {
      inBlock = true;
      block++;
      return;
    }
    if (inBlock && raw.startsWith('```')) {
      inBlock = false;
      return;
    }
    if (!inBlock) return;
    const text = raw.replace(/\s+#\s.*$/, '').trim();
    if (!text && !pending) return;
    const continued = text.endsWith('\\');
    const part = continued ? text.slice(0, -1).trim() : text;
    if (pending) pending.command = `${pending.command} ${part}`;
    else pending = { line: i + 1, block, command: part };
    if (!continued) {
      commands.push(pending);
      pending = null;
    }
  });
  return commands;
}

/** The rule for a command, or undefined when none knows it. */
export function ruleFor(command: string): WalkRule | undefined {
  return WALK_RULES.find((rule) => rule.pattern.test(command));
}

export interface WalkStep {
  line: number;
  command: string;
  /** What ran ('' when skipped). */
  ran: string;
  status: 'ok' | 'failed' | 'skipped';
  note?: string;
  exitCode?: number | null;
  output?: string;
}

export interface WalkOptions {
  /** Tiers to run: ['quick'] or ['quick', 'slow']. */
  tiers: readonly WalkTier[];
  /** Scratch folder (default: a new temporary one). */
  directory?: string;
  /** Run before the first quick command when the slow tier is off: makes the run the quick commands read. */
  seed?: string;
  /** Per-block time limit (ms). */
  blockTimeoutMs?: number;
  /** Called after each step (progress). */
  onStep?: (step: WalkStep) => void;
}

const repository = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const MARK = '@@readme-walk';

/**
 * Runs the README's commands in order, each block as one bash script (so a `… &` server lives for the rest of its
 * block and is stopped after it), a command after a failed one still running; commands of tiers not selected, or
 * that need what a walk cannot have, are skipped with the reason. Returns a step per command.
 */
export function walkReadme(markdown: string, options: WalkOptions): WalkStep[] {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'autointerp-readme-walk-'));
  const bin = join(directory, '.bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'autointerp'),
    `#!/bin/sh\nexec node ${JSON.stringify(join(repository, 'bin/autointerp.js'))} "$@"\n`,
  );
  chmodSync(join(bin, 'autointerp'), 0o755);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    AUTOINTERP_DB: join(directory, 'autointerp.db'),
    AUTOINTERP_REPOSITORY: repository,
    OPENAI_API_KEY: '',
    ANTHROPIC_API_KEY: '',
  };
  const bash = (script: string) => {
    const result = spawnSync(
      'bash',
      ['-c', `trap 'kill $(jobs -p) 2>/dev/null' EXIT\ncd ${JSON.stringify(directory)}\n${script}`],
      {
        env,
        encoding: 'utf8',
        timeout: options.blockTimeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return {
      code: result.status,
      output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`,
    };
  };
  const steps: WalkStep[] = [];
  const record = (step: WalkStep) => {
    steps.push(step);
    options.onStep?.(step);
  };
  let seeded = options.tiers.includes('slow') || !options.seed;
  const commands = readmeCommands(markdown);
  for (const block of [...new Set(commands.map((command) => command.block))]) {
    const planned = commands
      .filter((command) => command.block === block)
      .map((command) => ({ command, rule: ruleFor(command.command) }));
    const script: string[] = [];
    planned.forEach(({ command, rule }, i) => {
      if (!rule || !options.tiers.includes(rule.tier)) return;
      const ran = rule.run ? rule.run(command.command) : command.command;
      const where = rule.inRepository ? `cd "$AUTOINTERP_REPOSITORY" && ` : '';
      script.push(`echo "${MARK} ${i} start" >&2`);
      if (rule.before) script.push(`${rule.before} >/dev/null`);
      if (ran.endsWith('&')) {
        // a background server: started as written, then waited for (bounded) until its port answers
        const port = /--port (\d+)/.exec(ran)?.[1] ?? '8765';
        script.push(
          ran,
          `for attempt in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && break; sleep 0.1; done`,
        );
        script.push(`echo "${MARK} ${i} exit 0" >&2`);
      } else {
        script.push(`(${where}${ran})`, `echo "${MARK} ${i} exit $?" >&2`);
      }
    });
    const result = script.length > 0 ? seedThenRun(script.join('\n')) : null;
    if (result === 'seed failed') return steps;
    planned.forEach(({ command, rule }, i) => {
      if (!rule) {
        record({
          line: command.line,
          command: command.command,
          ran: '',
          status: 'failed',
          note: 'no walk rule knows this README command: add one to WALK_RULES in scripts/readme-walk.ts',
        });
        return;
      }
      if (!options.tiers.includes(rule.tier)) {
        record({
          line: command.line,
          command: command.command,
          ran: '',
          status: 'skipped',
          note: rule.tier === 'skip' ? rule.note : 'slow: walked by `npx tsx scripts/readme-walk.ts --slow`',
        });
        return;
      }
      const output = result!.output;
      const from = output.indexOf(`${MARK} ${i} start`);
      const exit = new RegExp(`${MARK} ${i} exit (\\d+)`).exec(output);
      const exitCode = exit ? Number(exit[1]) : result!.code === null ? null : -1; // no exit line: the block was stopped (time limit)
      const own = from < 0 ? output : output.slice(from, exit ? exit.index : undefined);
      record({
        line: command.line,
        command: command.command,
        ran: rule.run ? rule.run(command.command) : command.command,
        status: exitCode === 0 ? 'ok' : 'failed',
        note: rule.note,
        exitCode,
        output: own
          .split('\n')
          .filter((line) => !line.startsWith(MARK))
          .join('\n'),
      });
    });
  }
  return steps;

  function seedThenRun(script: string): { code: number | null; output: string } | 'seed failed' {
    if (!seeded) {
      const seed = bash(options.seed!);
      if (seed.code !== 0) {
        record({
          line: 0,
          command: options.seed!,
          ran: options.seed!,
          status: 'failed',
          note: 'the seed run failed',
          exitCode: seed.code,
          output: seed.output,
        });
        return 'seed failed';
      }
      seeded = true;
    }
    return bash(script);
  }
}

async function main(): Promise<void> {
  const slow = process.argv.includes('--slow');
  const markdown = readFileSync(join(repository, 'README.md'), 'utf8');
  const started = Date.now();
  const steps = walkReadme(markdown, {
    tiers: slow ? ['quick', 'slow'] : ['quick'],
    blockTimeoutMs: slow ? 1_800_000 : 300_000, // the train-sae block takes minutes on a busy 2-core machine
    seed: 'autointerp run --records "$AUTOINTERP_REPOSITORY"/data/demo/records/planted.jsonl --limit 8 --no-progress',
    onStep: (step) => {
      const status = step.status === 'ok' ? 'ok     ' : step.status === 'skipped' ? 'skipped' : 'FAILED ';
      console.log(`${status} README:${step.line}  ${step.command}${step.note ? `  (${step.note})` : ''}`);
      if (step.status === 'failed')
        console.log(
          (step.output ?? '')
            .trimEnd()
            .split('\n')
            .slice(-30)
            .map((line) => `    ${line}`)
            .join('\n'),
        );
    },
  });
  const failed = steps.filter((step) => step.status === 'failed').length;
  const ran = steps.filter((step) => step.status !== 'skipped').length;
  console.log(
    `README walk: ${ran - failed} of ${ran} commands ok, ${steps.length - ran} skipped, ${failed} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
