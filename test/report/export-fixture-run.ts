/**
 * Test helper: a stored run that exercises every branch of the exports (numeric and named layers out of order, an
 * SAE, failed and skipped features, a judged scorer's prompted kind with its judgements, best-of-n candidates, hostile
 * text), whose jsonl / csv / neuronpedia bytes are recorded in test/fixtures/export-golden/ from the exports as they
 * were before they streamed.
 */
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore, type StoredCandidate } from '../../src/store/result-store.ts';
import { judged, plantJudgements, plantScores } from './scorer-rows.ts';
import { syntheticRun } from './synthetic-store.ts';

const candidates: StoredCandidate[] = [
  {
    index: 0,
    parent: null,
    kind: 'sample',
    text: 'prepositions',
    promptVersion: 'explain.v1',
    calibrationScore: 0.21,
    heldOutScore: 0.18,
    selected: false,
  },
  {
    index: 1,
    parent: 0,
    kind: 'revision',
    text: 'determiners, "the"',
    promptVersion: 'revise.v1',
    calibrationScore: 0.9123456,
    heldOutScore: 0.87,
    selected: true,
  },
];

export function exportFixtureRun() {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = syntheticRun(store, {
    name: 'export-golden',
    features: [
      { layer: 10, index: 2, value: 0.25, explanation: 'ten, "two"' },
      { layer: 2, index: 9, value: -0.125, explanation: 'line\nbreak and \u0007 bell' },
      { layer: 0, index: 3, value: 0.9, explanation: 'determiners, "the"', density: null, candidates },
      { layer: 'blocks.1.hook_resid_post', index: 7, kind: 'sae', sae: 'res-16k', value: 0.4 },
      { layer: 0, index: 4, value: null, status: 'failed', reason: 'explainer returned no explanation' },
      { layer: 0, index: 5, value: null, status: 'skipped', reason: 'feature never activates' },
      { layer: 2, index: 1, value: 0.75, explanation: ' leading space' },
    ],
  });
  plantScores(store.db, runId, [
    { index: 3, layer: 0, kind: 'detection.balanced_accuracy', value: 0.8 },
    { index: 9, layer: 2, kind: 'detection.balanced_accuracy', value: null, reason: 'judge refused' },
  ]);
  plantJudgements(store.db, runId, [
    { index: 3, layer: 0, scorer: 'detection', examples: [judged('the cat', true), judged('a dog', false)] },
  ]);
  return { store, run: store.getRun(runId)! };
}
