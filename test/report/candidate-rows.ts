/**
 * Test helper: a stored run whose first feature's explanation was chosen from three best-of-n candidates (a sample,
 * a sample with hostile text and no scores, the selected revision of candidate 0) and whose second is one-shot.
 */
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore, type StoredCandidate } from '../../src/store/result-store.ts';
import { syntheticRun } from './synthetic-store.ts';

/** Candidate text that would run script if it were ever parsed as HTML. */
export const HOSTILE = '</script><script>alert(1)</script> & "quotes"';

export const plantedCandidates: StoredCandidate[] = [
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
    parent: null,
    kind: 'sample',
    text: HOSTILE,
    promptVersion: 'explain.v1',
    calibrationScore: null,
    heldOutScore: null,
    selected: false,
  },
  {
    index: 2,
    parent: 0,
    kind: 'revision',
    text: 'determiners, especially "the"',
    promptVersion: 'revise.v1',
    calibrationScore: 0.9123456,
    heldOutScore: 0.87,
    selected: true,
  },
];

export function candidateRun() {
  const store = new ResultStore(openDatabase(':memory:'));
  const runId = syntheticRun(store, {
    name: 'best-of-3',
    features: [
      { layer: 0, index: 0, value: 0.87, explanation: 'determiners, especially "the"', candidates: plantedCandidates },
      { layer: 0, index: 1, value: 0.5 }, // one-shot
    ],
  });
  return { store, run: store.getRun(runId)! };
}
