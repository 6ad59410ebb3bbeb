// Independent random streams from one user seed. Each use (initialisation, shuffling, dropout)
// draws from its own Philox key, so changing how much one of them consumes never shifts the
// others, and a resumed run draws exactly what an uninterrupted one would have.
const MASK = (1n << 64n) - 1n;

const PURPOSES = { init: 1n, shuffle: 2n, dropout: 3n } as const;
export type StreamPurpose = keyof typeof PURPOSES;

/** SplitMix64 of the seed and the purpose: a well-mixed 64-bit Philox key. */
export function streamKey(seed: number, purpose: StreamPurpose): bigint {
  let z = (BigInt(seed) * 0x9e3779b97f4a7c15n + PURPOSES[purpose] * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
  return z ^ (z >> 31n);
}
