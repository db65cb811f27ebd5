import { describe, expect, it } from 'vitest';
import { keyedClient } from '../../src/llm/keyed-client.ts';

describe('keyedClient', () => {
  it('makes one client per key in force, reads the key at every call, and makes a new client when it changes', () => {
    let key = 'k1';
    const made: string[] = [];
    const acquire = keyedClient(
      () => key,
      (k) => {
        made.push(k);
        return { for: k };
      },
    );
    expect(made).toEqual([]); // nothing before the first call
    const first = acquire();
    expect(acquire().client).toBe(first.client);
    key = 'k2';
    expect(acquire()).toEqual({ key: 'k2', client: { for: 'k2' } });
    expect(made).toEqual(['k1', 'k2']);
  });

  it('passes on the error of a missing key and makes no client', () => {
    const acquire = keyedClient(
      () => {
        throw new Error('no API key');
      },
      () => ({}),
    );
    expect(() => acquire()).toThrow('no API key');
  });
});
