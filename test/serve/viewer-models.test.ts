/**
 * The viewer with the embedded subject model: a brown-1l neuron's and an SAE latent's feature pages list the output
 * tokens their direction promotes and suppresses most (subject/steer's direct logit effect, the same numbers), and
 * the steer form generates with and without the clamp; features of other models never load a model.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewer, type ViewerServer } from '../../src/serve/viewer-server.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticRun } from '../report/synthetic-store.ts';

const modelDirectory = fileURLToPath(new URL('../../data/subject/brown-1l', import.meta.url));
const saeDirectory = fileURLToPath(new URL('../../data/sae/brown-1l-4x', import.meta.url));
const HOOK = 'blocks.0.mlp.hook_post';

let viewer: ViewerServer;
let ids: { neuron: number; latent: number; other: number };

beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'autointerp-serve-models-')), 'models.db');
  const db = openDatabase(path);
  db.prepare(
    `INSERT INTO saes (name, model, hook, architecture, d_in, d_sae, path, updated_at) VALUES ('brown-1l-4x', 'brown-1l', ?, 'topk', 512, 2048, ?, 'now')`,
  ).run(HOOK, saeDirectory);
  syntheticRun(new ResultStore(db), {
    name: 'models',
    features: [
      { model: 'brown-1l', layer: HOOK, index: 7, value: 0.5 },
      { model: 'brown-1l', layer: HOOK, kind: 'sae', sae: 'brown-1l-4x', index: 1906, value: 0.9 },
      { model: 'elsewhere', layer: 0, index: 1, value: 0.2 },
    ],
  });
  const id = (model: string, index: number) =>
    (db.prepare('SELECT id FROM features WHERE model = ? AND idx = ?').get(model, index) as { id: number }).id;
  ids = { neuron: id('brown-1l', 7), latent: id('brown-1l', 1906), other: id('elsewhere', 1) };
  db.close();
  viewer = await startViewer({ databasePath: path, port: 0, modelDirectories: [modelDirectory] });
}, 120_000);

afterAll(async () => {
  await viewer?.close();
});

const get = async (path: string) => {
  const response = await fetch(`${viewer.url}${path}`);
  return { status: response.status, html: await response.text() };
};
const tableRows = (html: string, id: string) => {
  const start = html.indexOf(`<table id="${id}">`);
  return start < 0 ? 0 : (html.slice(start, html.indexOf('</table>', start)).match(/<tr>/g) ?? []).length;
};

describe('autointerp serve with the embedded model', () => {
  it('lists the tokens a neuron and an SAE latent promote and suppress', async () => {
    for (const featureId of [ids.neuron, ids.latent]) {
      const page = await get(`/feature/${featureId}`);
      expect(page.status).toBe(200);
      expect(tableRows(page.html, 'promoted')).toBe(10);
      expect(tableRows(page.html, 'suppressed')).toBe(10);
      expect(page.html).toContain('id="steer-link"');
    }
    const latent = await get(`/feature/${ids.latent}`);
    expect(latent.html).toContain('W_dec·W_U');
    const other = await get(`/feature/${ids.other}`);
    expect(other.html).not.toContain('Output tokens');
    expect(other.html).not.toContain('steer-link');
  });

  it('generates with and without the clamp from a GET form', async () => {
    const page = await get(`/steer?feature=${ids.latent}&value=60&prompt=The+old&tokens=8`);
    expect(page.status).toBe(200);
    const text = (id: string) => new RegExp(`<div class="generation" id="${id}">([^]*?)</div>`).exec(page.html)![1]!;
    expect(text('original')).toMatch(/^The old<b>.+<\/b>$/);
    expect(text('clamped')).not.toBe(text('original'));
    expect((await get(`/steer?feature=${ids.other}&value=1`)).status).toBe(404);
    expect((await get(`/steer?feature=${ids.latent}&value=abc`)).status).toBe(400);
  });
});
