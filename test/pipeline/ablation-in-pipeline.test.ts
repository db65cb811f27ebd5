import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleCorrelation } from 'simple-statistics';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { SaeStore } from '../../src/store/sae-store.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const neurons = join(root, 'data/demo/records/brown-1l-neurons.jsonl');
const planted = join(root, 'data/demo/records/planted.jsonl');
const directory = mkdtempSync(join(tmpdir(), 'autointerp-ablation-run-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
/** The scorers these tests are about (the judged ones would add calls and notes of their own). */
const scorers = ['correlation', 'ablation'];

function scores(store: ResultStore, runId: number, kind: string) {
  return store.db
    .prepare(
      `SELECT f.idx, s.value, s.reason, s.n_tokens AS nTokens FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? AND s.kind = ? ORDER BY f.idx`,
    )
    .all(runId, kind) as { idx: number; value: number | null; reason: string | null; nTokens: number }[];
}

describe('ablation scores in a run (baseline explainer and simulator)', () => {
  it('are stored beside the correlations for features of the embedded model, and track them', async () => {
    const store = new ResultStore(openDatabase(join(directory, 'on.db')));
    // Eight of the sixteen neurons (each ablation pass is a forward pass per record): r = 0.86 on these eight against
    // the 0.4 asked (0.62 on all sixteen; 0.54 to 0.86 on the eight consecutive ones from the 1st, 3rd, …, 9th; the
    // baseline explainer and simulator are deterministic, so these are the values every run sees).
    const summary = await runPipeline({ source: neurons, limit: 8, scorers }, { store });
    expect(summary.scored).toBe(8);
    expect(summary.notes).toBeUndefined();
    const ablation = scores(store, summary.runId, 'ablation.all');
    const correlation = scores(store, summary.runId, 'correlation.all');
    expect(ablation.map((row) => row.idx)).toEqual(correlation.map((row) => row.idx));
    for (const row of ablation) {
      expect(row.value, row.reason ?? '').not.toBeNull();
      expect(row.value!).toBeLessThanOrEqual(1);
      expect(row.nTokens).toBeGreaterThan(0);
    }
    // Better simulations keep more of the model's behaviour: across neurons the two scores go together.
    const r = sampleCorrelation(
      ablation.map((row) => row.value!),
      correlation.map((row) => row.value!),
    );
    expect(r).toBeGreaterThan(0.4);
    store.db.close();
  }, 120_000);

  it('score SAE latents through their embedded SAE, and the run records that SAE with its metrics', async () => {
    const store = new ResultStore(openDatabase(join(directory, 'sae.db')));
    const summary = await runPipeline(
      { source: join(root, 'data/demo/records/brown-1l-4x.jsonl'), limit: 2, scorers },
      { store },
    );
    expect(summary.scored).toBe(2);
    const ablation = scores(store, summary.runId, 'ablation.all');
    expect(ablation).toHaveLength(2);
    for (const row of ablation) expect(row.value, row.reason ?? '').not.toBeNull();
    const saes = new SaeStore(store.db);
    const sae = saes.getSae('brown-1l-4x')!;
    expect(sae).toMatchObject({
      model: 'brown-1l',
      hook: 'blocks.0.mlp.hook_post',
      d_in: 512,
      d_sae: 2048,
      architecture: 'standard',
    });
    const metrics = Object.fromEntries(
      saes
        .metricsOf(sae.id)
        .filter((m) => m.split === 'heldout')
        .map((m) => [m.metric, m.value]),
    );
    expect(metrics.ce_loss_recovered).toBeGreaterThan(0.8);
    expect(metrics.l0).toBeGreaterThan(0);
    store.db.close();
  }, 60_000);

  it('are left out with --no-ablation, and for records without token ids (with a note saying why)', async () => {
    const off = new ResultStore(openDatabase(join(directory, 'off.db')));
    const none = await runPipeline(
      { source: neurons, limit: 3, ablation: false, scorers: ['correlation'] },
      { store: off },
    );
    expect(none.scored).toBe(3);
    expect(scores(off, none.runId, 'ablation.all')).toEqual([]);
    off.db.close();

    const store = new ResultStore(openDatabase(join(directory, 'planted.db')));
    const summary = await runPipeline({ source: planted, limit: 3, scorers }, { store });
    expect(summary.scored).toBe(3);
    expect(scores(store, summary.runId, 'ablation.all')).toEqual([]);
    expect(summary.notes).toEqual([
      expect.stringMatching(/^no ablation for demo-planted features: their records carry no token ids/),
    ]);
    store.db.close();

    // Token ids but an unknown model: the note says how to give it.
    const unknown = new ResultStore(openDatabase(join(directory, 'unknown.db')));
    writeFileSync(
      join(directory, 'unknown.jsonl'),
      readFileSync(neurons, 'utf8').replaceAll('"model":"brown-1l"', '"model":"gpt2-somewhere"'),
    );
    const notKnown = await runPipeline(
      { source: join(directory, 'unknown.jsonl'), limit: 2, scorers },
      { store: unknown },
    );
    expect(notKnown.notes).toEqual([
      expect.stringMatching(/no ablation for model gpt2-somewhere: give its folder with --subject-model/),
    ]);
    unknown.db.close();

    // A subject model folder that cannot be loaded: the run goes on, without ablation, and says why.
    const broken = join(directory, 'broken');
    mkdirSync(broken);
    const renamed = readFileSync(neurons, 'utf8').replaceAll('"model":"brown-1l"', '"model":"broken"');
    writeFileSync(join(directory, 'broken.jsonl'), renamed);
    const third = new ResultStore(openDatabase(join(directory, 'broken.db')));
    const run = await runPipeline(
      { source: join(directory, 'broken.jsonl'), limit: 2, subjectModels: [broken], scorers },
      { store: third },
    );
    expect(run.scored).toBe(2);
    expect(scores(third, run.runId, 'ablation.all')).toEqual([]);
    expect(run.notes).toEqual([expect.stringMatching(/^no ablation for model broken: /)]);
    third.db.close();
  }, 60_000);
});
