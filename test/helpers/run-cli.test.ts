/** The in-process CLI helper's hang guard: a hung command rejects naming itself and does not block later calls. */
import { describe, expect, it } from 'vitest';
import { createCliQueue } from './run-cli.ts';

// `hang` never ends (as a command waiting on a request that never comes back would); every other command prints its
// arguments and the variable it was given, and ends.
const cli = createCliQueue((args) =>
  args[0] === 'hang'
    ? new Promise<number>(() => {
        process.stderr.write('hanging\n');
      })
    : Promise.resolve(process.stdout.write(`${args.join(' ')} ${process.env.RUN_CLI_PROBE}\n`) ? 0 : 1),
);

describe('cli (test/helpers/run-cli): the hang guard', () => {
  it('rejects a hung call naming its command line, gives the process back, and runs the calls queued behind it', async () => {
    const writeBefore = process.stderr.write;
    const hung = cli(['hang', '--db', 'x.db'], { timeoutMs: 20, env: { RUN_CLI_PROBE: 'hung' } });
    const next = cli(['list'], { env: { RUN_CLI_PROBE: 'next' } });
    await expect(hung).rejects.toThrow(/^autointerp hang --db x\.db: still running after 20 ms/);
    expect(process.stderr.write).toBe(writeBefore);
    expect(process.env.RUN_CLI_PROBE).toBeUndefined();
    expect(await next).toEqual({ code: 0, stdout: 'list next\n', stderr: '' });
    expect(process.env.RUN_CLI_PROBE).toBeUndefined();
  });
});
