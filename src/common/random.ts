/**
 * @module common/random — seeded pseudo-random numbers (mulberry32) and the few helpers built on them. Nothing in
 * this project uses Math.random: every sample, shuffle and noise value comes from a seed so that runs reproduce.
 */

/** A source of uniform numbers in [0, 1), deterministic for a given seed. */
export type RandomSource = () => number;

/**
 * mulberry32: a tiny 32-bit generator with a period of 2^32, good enough for sampling and noise (not for
 * cryptography). The same seed always gives the same sequence.
 */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit FNV-1a hash of `text` mixed with `seed`: derives a stable seed from a name (e.g. a feature key). */
export function hashString(text: string, seed = 0): number {
  let hash = (0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** A uniform integer in [0, maxExclusive). */
export function randomInteger(random: RandomSource, maxExclusive: number): number {
  return Math.floor(random() * maxExclusive);
}

/** A standard normal sample (Box–Muller, one of the pair). */
export function randomGaussian(random: RandomSource): number {
  let uniform = random();
  while (uniform <= Number.MIN_VALUE) uniform = random();
  return Math.sqrt(-2 * Math.log(uniform)) * Math.cos(2 * Math.PI * random());
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffleInPlace<T>(items: T[], random: RandomSource): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = randomInteger(random, index + 1);
    const kept = items[index] as T;
    items[index] = items[other] as T;
    items[other] = kept;
  }
  return items;
}
