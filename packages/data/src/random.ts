// A seeded generator for splits, in plain TS so that a split needs no native addon and gives the
// same indices on every machine and Node version. xoshiro128** 1.1 (Blackman & Vigna,
// https://prng.di.unimi.it/xoshiro128starstar.c) with its 128-bit state taken from two SplitMix64
// outputs (https://prng.di.unimi.it/splitmix64.c) of the seed, low 32 bits first; both are short
// enough to re-implement in Python to check a split.

const MASK64 = (1n << 64n) - 1n;

function splitMix64(state: bigint): [next: bigint, output: bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class SeededRandom {
  private readonly s = new Uint32Array(4);

  /** `seed`: a non-negative integer below 2^64. */
  constructor(seed: number | bigint) {
    if (typeof seed === 'number' ? !Number.isSafeInteger(seed) || seed < 0 : seed < 0n || seed > MASK64) {
      throw new RangeError(`seed must be a non-negative integer (below 2^64), got ${String(seed)}`);
    }
    let state = BigInt(seed);
    for (let i = 0; i < 4; i += 2) {
      const [next, output] = splitMix64(state);
      state = next;
      this.s[i] = Number(output & 0xffffffffn);
      this.s[i + 1] = Number(output >> 32n);
    }
  }

  /** The next 32-bit output, as a number in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform integer in [0, n), 0 < n <= 2^32, without modulo bias (rejection sampling). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` in place (Fisher–Yates, from the last element down). */
  shuffle(items: Int32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
  }
}
