// Philox-4x32-10 (Salmon et al., SC 2011) and the stream layout of native/src/kernels/philox.h.

type Words4 = [number, number, number, number];

/** High and low 32 bits of the 64-bit product of two uint32, via 16-bit halves (exact in doubles). */
function mulhilo(a: number, b: number): [number, number] {
  const lowPart = (a & 0xffff) * b; // < 2^48
  const highPart = (a >>> 16) * b; // < 2^48, weighs 2^16
  // a b = floor(highPart / 2^16) 2^32 + ((highPart mod 2^16) 2^16 + lowPart)
  const rest = (highPart % 0x10000) * 0x10000 + lowPart; // < 2^49
  const hi = (Math.floor(highPart / 0x10000) + Math.floor(rest / 0x100000000)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** The Philox-4x32-10 bijection: 128-bit counter, 64-bit key, as uint32 words. */
export function philox4x32(counter: Words4, key: [number, number]): Words4 {
  let [c0, c1, c2, c3] = counter.map((w) => w >>> 0) as Words4;
  let [k0, k1] = key.map((w) => w >>> 0);
  for (let round = 0; round < 10; round++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

const low32 = (v: bigint): number => Number(BigInt.asUintN(32, v));

/** One block of a stream: counter (block lo, block hi, stream, 0), key (seed lo, seed hi). */
export function philoxBlock(seed: bigint, block: bigint, stream: number): Words4 {
  return philox4x32([low32(block), low32(block >> 32n), stream, 0], [low32(seed), low32(seed >> 32n)]);
}

const UNIFORM_STREAM = 0;
const NORMAL_STREAM = 1;
const TWO_POW_MINUS_24 = 2 ** -24;

// Element j of a stream lies in block j / 4, word j % 4.
function word(seed: bigint, stream: number, j: number): { words: Words4; slot: number } {
  return { words: philoxBlock(seed, BigInt(Math.floor(j / 4)), stream), slot: j % 4 };
}

function uniformAt(seed: bigint, j: number): number {
  const { words, slot } = word(seed, UNIFORM_STREAM, j);
  return (words[slot] >>> 8) * TWO_POW_MINUS_24;
}

// Box-Muller on the word pair (2q, 2q + 1) holding j; u1 in (0, 1] so the log is finite.
function normalAt(seed: bigint, j: number): number {
  const { words, slot } = word(seed, NORMAL_STREAM, j);
  const pair = slot & 2;
  const u1 = ((words[pair] >>> 8) + 1) * TWO_POW_MINUS_24;
  const u2 = (words[pair + 1] >>> 8) * TWO_POW_MINUS_24;
  const r = Math.sqrt(-2 * Math.log(u1));
  return j % 2 === 1 ? r * Math.sin(2 * Math.PI * u2) : r * Math.cos(2 * Math.PI * u2);
}

/** Elements offset .. offset + count - 1 of the uniform stream: 24-bit values in [0, 1). */
export function randomUniform(seed: bigint, offset: number, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => uniformAt(seed, offset + i));
}

/** Elements offset .. offset + count - 1 of the standard normal stream. */
export function randomNormal(seed: bigint, offset: number, count: number): Float64Array {
  return Float64Array.from({ length: count }, (_, i) => normalAt(seed, offset + i));
}

const clip = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** clip(x0 + eps_i (2u - 1), lo, hi) with u the uniform stream at offset + i d + j. */
export function randomLinfBall(x0: ArrayLike<number>, d: number, eps: ArrayLike<number>, lo: number, hi: number, seed: bigint, offset: number): Float64Array {
  return Float64Array.from({ length: x0.length }, (_, ij) => {
    const i = Math.floor(ij / d);
    return clip(x0[ij] + eps[i] * (2 * uniformAt(seed, offset + ij) - 1), lo, hi);
  });
}

/** Rows of the normal stream at offset + i d + j, each scaled to unit L2 norm. */
export function unitDirections(n: number, d: number, seed: bigint, offset: number): Float64Array {
  const out = randomNormal(seed, offset, n * d);
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * d, (i + 1) * d);
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    for (let j = 0; j < d; j++) row[j] /= norm;
  }
  return out;
}

/**
 * clip(x0 + eps_i u_i^(1/d) direction_i, lo, hi): direction from unitDirections at the same
 * offset, u_i the uniform stream at offset + i (radius^d uniform gives uniform volume density).
 */
export function randomL2Ball(x0: ArrayLike<number>, d: number, eps: ArrayLike<number>, lo: number, hi: number, seed: bigint, offset: number): Float64Array {
  const n = x0.length / d;
  const out = unitDirections(n, d, seed, offset);
  for (let i = 0; i < n; i++) {
    const radius = eps[i] * uniformAt(seed, offset + i) ** (1 / d);
    for (let j = 0; j < d; j++) out[i * d + j] = clip(x0[i * d + j] + radius * out[i * d + j], lo, hi);
  }
  return out;
}
