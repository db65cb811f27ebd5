/**
 * @module bench/ablation-passes — the ablation scorer's forward passes (subject/feature-ablation.ts) timed against the
 * earlier three-full-passes path (`ablationJsdPerRecordThreePasses`), interleaved in one run on the same records, and
 * checked bit for bit against it.
 *
 * Records: held-out Brown text cut into 64-token windows (as the demo's), a quarter of them with 24 tokens of the
 * window's sequence before it as context, a neuron of brown-1l at blocks.0.mlp.hook_post replaced by a noisy copy of
 * its activation at a share of the positions (`--unchanged`, default 0.37 as in the demo, where 37 % of the simulated
 * values equal the feature's own: the patch leaves those rows as they are and the new path skips them). Both paths run each round, the first of the two alternating; prints the medians of each path's wall
 * and CPU seconds (tfjs-wasm computes on the main thread: its CPU time is the work done, whatever the machine's load),
 * their ratios, whether every JSD is the same float bit for bit, and the load average.
 *
 * Run: `npx tsx bench/ablation-passes.ts [--records 64] [--rounds 5] [--context] [--unchanged 0.37] [--batch-logits N]`
 * (`--context`: every record gets a context of 0–24 tokens, which the new path does not score; `--unchanged`: the
 * share of window positions whose simulated value is the feature's own; `--batch-logits`: the new path's
 * `maxLogitsPerBatch`, default the same as the old path's).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mulberry32, randomGaussian } from '../src/common/random.ts';
import { initBackendOrExit } from '../src/subject/backend.ts';
import { readCorpusSample } from '../src/subject/corpus-sample.ts';
import {
  type AblationRecord,
  ablationJsdPerRecord,
  ablationJsdPerRecordThreePasses,
  type FeatureTarget,
  featureActivations,
  type RecordJsd,
} from '../src/subject/feature-ablation.ts';
import { loadSubjectModel } from '../src/subject/load-subject.ts';
import { median } from './timing.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '5' },
    context: { type: 'boolean', default: false },
    unchanged: { type: 'string', default: '0.37' },
    'batch-logits': { type: 'string' },
  },
});
const recordCount = Number(values.records);
const rounds = Number(values.rounds);
/** Share of window positions whose simulated value is the feature's own (the patch leaves them as they are). */
const unchangedShare = Number(values.unchanged);
/** The new path's maxLogitsPerBatch (default: the passes' own default, as the old path). */
const newOptions = values['batch-logits'] ? { maxLogitsPerBatch: Number(values['batch-logits']) } : {};

await initBackendOrExit('wasm');
const subject = await loadSubjectModel(fileURLToPath(new URL('../data/subject/brown-1l/', import.meta.url)));
const sequences: number[][] = [];
for (const document of readCorpusSample(
  fileURLToPath(new URL('../data/corpus/brown-heldout.jsonl', import.meta.url)),
)) {
  const ids = subject.tokenizer.encode(document.text);
  for (let start = 0; start + 64 <= ids.length && sequences.length < recordCount; start += 64)
    sequences.push(ids.slice(start, start + 64));
  if (sequences.length === recordCount) break;
}
const target: FeatureTarget = { kind: 'neuron', hook: 'blocks.0.mlp.hook_post', index: 7 };
const truth = featureActivations(subject.model, target, sequences);
const mean = truth.flat().reduce((sum, x) => sum + x, 0) / truth.flat().length;
const random = mulberry32(3);
const records: AblationRecord[] = sequences.map((sequence, i) => {
  const context = values.context || i % 4 === 3 ? [0, 8, 16, 24][i % 4]! : 0;
  return {
    contextIds: sequence.slice(0, context),
    tokenIds: sequence.slice(context),
    replacement: {
      simulated: truth[i]!.slice(context).map((x) =>
        random() < unchangedShare ? x : x + 0.3 * randomGaussian(random),
      ),
      mean,
    },
  };
});

const identical = (a: RecordJsd[], b: RecordJsd[]) =>
  a.every(
    (record, i) =>
      record.jsdSimulated.every((x, t) => Object.is(x, b[i]!.jsdSimulated[t])) &&
      record.jsdMean.every((x, t) => Object.is(x, b[i]!.jsdMean[t])),
  );
/** Wall and CPU seconds (tfjs-wasm runs on this thread: its CPU time is the work done, whatever the load). */
interface Spent {
  wall: number;
  cpu: number;
}
async function timed<T>(run: () => Promise<T>): Promise<{ result: T; spent: Spent }> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await run();
  const cpu = process.cpuUsage(cpuStart);
  return { result, spent: { wall: (performance.now() - wallStart) / 1000, cpu: (cpu.user + cpu.system) / 1e6 } };
}
const newTimes: Spent[] = [];
const oldTimes: Spent[] = [];
let sameBits = true;
for (let round = 0; round <= rounds; round++) {
  // Both each round, the first of the two alternating (round 0 warms both up): the machine's load falls on both alike.
  const runBefore = () => timed(() => ablationJsdPerRecordThreePasses(subject.model, target, records));
  const runAfter = () => timed(() => ablationJsdPerRecord(subject.model, target, records, newOptions));
  const afterFirst = round % 2 === 1 ? await runAfter() : null;
  const before = await runBefore();
  const after = afterFirst ?? (await runAfter());
  sameBits &&= identical(before.result, after.result);
  if (round === 0) continue;
  oldTimes.push(before.spent);
  newTimes.push(after.spent);
}
const positions = records.reduce((sum, record) => sum + record.tokenIds.length, 0);
const unchangedPositions = records.reduce(
  (sum, record, i) =>
    sum + record.replacement.simulated.filter((x, t) => x === truth[i]![t + record.contextIds.length]).length,
  0,
);
console.log(
  `ablation passes, brown-1l ${target.hook}, ${records.length} records, ${positions} scored positions, ${unchangedPositions} of them with the feature's own value`,
);
const medians = (times: Spent[]) => ({
  wall: median(times.map((t) => t.wall)),
  cpu: median(times.map((t) => t.cpu)),
});
const [before, after] = [medians(oldTimes), medians(newTimes)];
console.log(
  `three full passes (before): ${before.wall.toFixed(3)} s wall, ${before.cpu.toFixed(3)} s CPU (medians of ${rounds})`,
);
console.log(`branched, window rows only (after): ${after.wall.toFixed(3)} s wall, ${after.cpu.toFixed(3)} s CPU`);
console.log(
  `ratio before/after: ${(before.wall / after.wall).toFixed(2)}× wall, ${(before.cpu / after.cpu).toFixed(2)}× CPU`,
);
console.log(`results bit-identical: ${sameBits}`);
console.log(
  `load average: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
subject.model.dispose();
