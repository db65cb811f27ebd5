import { describe, expect, it } from 'vitest';
import { untilStopSignal } from '../../src/cli/until-stop-signal.ts';

describe('untilStopSignal (how serve and serve-fake wait)', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('resolves on %s and leaves no listener behind', async (signal) => {
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    let stopped = false;
    const waiting = untilStopSignal().then(() => {
      stopped = true;
    });
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT + 1);
    await Promise.resolve();
    expect(stopped).toBe(false);
    process.emit(signal);
    await waiting;
    expect(stopped).toBe(true);
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
  });
});
