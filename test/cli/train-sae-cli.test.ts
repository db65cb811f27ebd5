import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { SaeStore } from '../../src/store/sae-store.ts';
import { autointerpBinary, cli as runCli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-train-sae-cli-'));
const bin = autointerpBinary;

/** `autointerp <args>` in-process, in the test folder. */
const cli = (args: string[]) => runCli(args, { cwd: directory });

beforeAll(async () => {
  const extracted = await cli([
    'extract',
    '--tokens',
    '1000', // about 1,000 rows of width 512: batches are drawn epoch after epoch
    '--cache',
    'cache',
    '--backend',
    'wasm',
    '--no-progress',
  ]);
  expect(extracted.code, extracted.stderr).toBe(0);
}, 600_000); // a hang guard only
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** How many times the Ctrl+C test starts a training run (4 times the steps each time) before giving up. */
const maximumInterruptAttempts = 3;

/** `train-sae` arguments for a tiny SAE (16 latents, 16 rows a step) of `steps` steps into the folder `out`. */
function trainArguments(out: string, steps: number): string[] {
  return [
    'train-sae',
    '--cache',
    'cache',
    '--out',
    out,
    '--latents',
    '16',
    '--steps',
    String(steps),
    '--batch-size',
    '16',
    '--db',
    `${out}.db`,
    '--backend',
    'wasm',
    '--no-progress',
  ];
}

/** Spawns `autointerp <args>`, sends SIGINT once it reports step 1 of `steps` done (or has exited) and waits for it. */
async function interruptAfterFirstStep(
  args: string[],
  steps: number,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: directory });
  let stderr = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const firstStepLine = new RegExp(`^training: step 1 of ${steps} done; Ctrl\\+C stops`, 'm');
  const firstStepDone = new Promise<void>((resolve) =>
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (firstStepLine.test(stderr)) resolve();
    }),
  );
  await Promise.race([firstStepDone, closed]);
  child.kill('SIGINT');
  const code = await closed;
  return { code, stderr };
}

describe('autointerp train-sae / sae-metrics', () => {
  it('trains, writes a SAELens folder, measures it through the embedded model and records it in SQLite', async () => {
    const args = [
      'train-sae',
      '--cache',
      'cache',
      '--out',
      'sae-1x',
      '--expansion',
      '1',
      '--steps',
      '20',
      '--batch',
      '128',
      '--eval-cache',
      'cache',
      '--eval-tokens',
      '500',
      '--db',
      'sae.db',
      '--backend',
      'wasm',
      '--no-progress',
    ];
    const result = await cli(args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/trained 20 steps \(2560 tokens\)/);
    expect(result.stdout).toMatch(/L0 [\d.]+ \| FVU [\d.]+/);
    expect(result.stdout).toMatch(/CE loss recovered [\d.-]+/);
    for (const file of ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'training.json', 'metrics.json'])
      expect(existsSync(join(directory, 'sae-1x', file)), file).toBe(true);
    expect(JSON.parse(readFileSync(join(directory, 'sae-1x', 'metrics.json'), 'utf8'))).toMatchObject({
      name: 'sae-1x',
      cache: { tokens: expect.any(Number), metrics: { l0: expect.any(Number) } },
    });
    const db = openDatabase(join(directory, 'sae.db'));
    const store = new SaeStore(db);
    const row = store.getSae('sae-1x')!;
    expect(row).toMatchObject({
      model: 'brown-1l',
      hook: 'blocks.0.mlp.hook_post',
      architecture: 'standard',
      d_in: 512,
      d_sae: 512,
    });
    expect(JSON.parse(row.training!)).toMatchObject({ steps: 20, batchSize: 128 });
    const metrics = Object.fromEntries(store.metricsOf(row.id).map((m) => [m.metric, m.value]));
    expect(metrics).toMatchObject({
      l0: expect.any(Number),
      fvu: expect.any(Number),
      ce_loss_recovered: expect.any(Number),
      kl_score: expect.any(Number),
    });
    db.close();

    // The folder is not overwritten; sae-metrics measures an existing folder again (here without the splice).
    const again = await cli(args);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds an SAE/);
    // sae-metrics never writes into the SAE folder (issue 15 item 5: it dirtied the embedded data/sae/* under git): its
    // metrics JSON goes beside the database, or to --metrics-out; with nothing to measure it refuses.
    const folderMetrics = readFileSync(join(directory, 'sae-1x', 'metrics.json'), 'utf8');
    const nothing = await cli(['sae-metrics', 'sae-1x', '--db', 'nothing.db', '--backend', 'wasm']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^autointerp: sae-metrics: nothing to measure without --eval-cache <dir>/);
    expect(existsSync(join(directory, 'nothing.db'))).toBe(false);
    const nowhere = await cli([
      'sae-metrics',
      'sae-1x',
      '--eval-cache',
      'cache',
      '--metrics-out',
      'no/such/folder/m.json',
      '--backend',
      'wasm',
    ]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/--metrics-out no\/such\/folder\/m\.json: the folder .* does not exist/);
    const measured = await cli([
      'sae-metrics',
      'sae-1x',
      '--eval-cache',
      'cache',
      '--eval-tokens',
      '256',
      '--no-splice',
      '--name',
      'renamed',
      '--db',
      'sae.db',
      '--backend',
      'wasm',
    ]);
    expect(measured.code, measured.stderr).toBe(0);
    expect(measured.stdout).not.toMatch(/CE loss recovered/);
    expect(readFileSync(join(directory, 'sae-1x', 'metrics.json'), 'utf8')).toBe(folderMetrics);
    expect(measured.stderr).toContain(`wrote the metrics to ${join(directory, 'renamed.metrics.json')}`);
    expect(JSON.parse(readFileSync(join(directory, 'renamed.metrics.json'), 'utf8'))).toMatchObject({
      name: 'renamed',
      cache: { tokens: expect.any(Number), metrics: { l0: expect.any(Number) } },
    });
    const db2 = openDatabase(join(directory, 'sae.db'));
    expect(new SaeStore(db2).listSaes().map((sae) => sae.name)).toEqual(['renamed', 'sae-1x']);
    db2.close();
  }, 600_000); // a hang guard only: training takes minutes on 2 busy cores

  it('stops on Ctrl+C with its checkpoint saved (exit 130) and --resume finishes the run', async () => {
    // A tiny SAE (16 latents, 16 rows a step: a few ms a step) and the default checkpoint interval: the checkpoint
    // tested is the one Ctrl+C saves. The signal goes as soon as the child says its first step is done (its Ctrl+C
    // handler is in place by then); the resume does the rest in-process. On a loaded machine the child may finish all
    // its steps before the signal lands (exit 0; or killed by the signal after training, once its handler is gone:
    // either way no checkpoint and no "stopping" line): then it is tried again with 4 times the steps, in a folder of
    // its own, at most 3 tries, so the outcome does not depend on how loaded the machine is.
    let interrupted: { args: string[]; out: string; steps: number; code: number | null; stderr: string } | undefined;
    for (let attempt = 0; attempt < maximumInterruptAttempts && interrupted === undefined; attempt++) {
      const steps = 400 * 4 ** attempt;
      const out = `sae-int-${attempt}`;
      const args = trainArguments(out, steps);
      const { code, stderr } = await interruptAfterFirstStep(args, steps);
      const trainingEndedFirst =
        !/stopping after the step in flight/.test(stderr) && !existsSync(join(directory, out, 'checkpoint'));
      if (trainingEndedFirst && (code === 0 || code === null)) continue; // the signal came after the training
      interrupted = { args, out, steps, code, stderr };
    }
    expect(interrupted, `train-sae finished ${maximumInterruptAttempts} times before Ctrl+C landed`).toBeDefined();
    const { args, out, steps, code, stderr } = interrupted!;
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/stopping after the step in flight/);
    expect(stderr).toMatch(/interrupted: checkpoint in .*--resume/);
    expect(existsSync(join(directory, out, 'checkpoint', 'latest.json'))).toBe(true);
    expect(existsSync(join(directory, out, 'cfg.json'))).toBe(false);

    const refused = await cli(args);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/holds a checkpoint .*resume/);
    const resumed = await cli([...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed at step [1-9]\d*/);
    expect(resumed.stderr).toContain(`trained ${steps} steps`);
    expect(existsSync(join(directory, out, 'cfg.json'))).toBe(true);
    expect(existsSync(join(directory, out, 'checkpoint'))).toBe(false);
  }, 600_000); // a hang guard only
});
