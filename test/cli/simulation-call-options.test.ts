import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import { addSimulationCallOptions } from '../../src/cli/shared-options.ts';

const simulationFlags = ['--base-url', '--simulate-prompt', '--records-per-call', '--context-tokens'];

/** Each simulation flag of `command`: its spelling, help text and default. */
function simulationOptionsOf(command: Command) {
  return simulationFlags.map((flag) => {
    const option = command.options.find((candidate) => candidate.long === flag);
    return option && { flags: option.flags, description: option.description, defaultValue: option.defaultValue };
  });
}

describe('the simulation options of the commands that simulate outside `run`', () => {
  it('are one definition: simulate, score and validate-scorers offer the same flags, help and defaults', () => {
    const shared = simulationOptionsOf(addSimulationCallOptions(new Command('x')));
    expect(shared.every(Boolean)).toBe(true);
    expect(shared[1]?.defaultValue).toBe('simulate.v1');
    const program = buildProgram();
    for (const name of ['simulate', 'score', 'validate-scorers']) {
      const command = program.commands.find((candidate) => candidate.name() === name);
      expect(command, name).toBeDefined();
      expect(simulationOptionsOf(command!), name).toEqual(shared);
    }
  });

  it('parse --records-per-call and --context-tokens as run does', () => {
    const command = addSimulationCallOptions(new Command('x')).exitOverride();
    command.parse(['--records-per-call', 'all', '--context-tokens', '4096'], { from: 'user' });
    expect(command.opts()).toMatchObject({ recordsPerCall: 'all', contextTokens: 4096, simulatePrompt: 'simulate.v1' });
    expect(() =>
      addSimulationCallOptions(new Command('y')).parse(['--records-per-call', '0'], { from: 'user' }),
    ).toThrow(/--records-per-call expects a positive integer or "all", got "0"/);
  });
});
