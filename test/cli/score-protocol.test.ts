import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';

// `autointerp simulate` / `score` use a run's simulation protocol and context budget (issue 13 item 1).
const feature = 'demo-planted/0/neuron/2';
const explanation = 'the tokens "wife", "father", "son"';
const scoreOf = async (...flags: string[]) => {
  const result = await cli(['score', '--feature', feature, '--explanation', explanation, '--json', ...flags]);
  return {
    ...result,
    json: result.code === 0 ? (JSON.parse(result.stdout) as { scores: { kind: string; value: number }[] }) : undefined,
  };
};

describe('score and simulate: records per call and the context budget', () => {
  it('one record per call gives the baseline the same scores as all records in one call', async () => {
    const all = await scoreOf();
    const one = await scoreOf('--records-per-call', '1');
    expect(all.code).toBe(0);
    expect(one.code).toBe(0);
    expect(one.json!.scores).toEqual(all.json!.scores);
  });

  it('a context too small for one record is a one-line input error naming --context-tokens', async () => {
    const result = await scoreOf('--context-tokens', '60');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/does not fit the simulator's context.*--context-tokens/);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('autointerp:')),
    ).toHaveLength(1);
  });

  it('a bad --records-per-call names the flag', async () => {
    const result = await cli([
      'simulate',
      '--feature',
      feature,
      '--explanation',
      explanation,
      '--records-per-call',
      '0',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--records-per-call');
  });
});
