// Square Attack (Andriushchenko et al. 2020), after AutoAttack's reference: a random search that
// only reads scores. Each iteration redraws the perturbation on one random square window of the
// current best point and keeps the candidate when the loss went down or the sample is fooled.
// Windows start large (a fraction p of the image) and shrink on a fixed schedule. L∞ candidates
// put the window at x0 ± ε per channel; L2 ones move the mass of two windows into the first, as a
// "nested squares" pattern, so that ‖δ‖₂ stays ε. Each sample draws its own windows from its own
// stretch of the Philox stream, so its random choices do not depend on the rest of the batch.
import { project, randomUniform } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask } from '../attack.js';
import type { Classifier } from '../classifier/classifier.js';
import { checkCount, checkThreat } from './options.js';
import { adversarialRows, gather, range, scatter, scoreBasedStart } from './rows.js';
import { attackerLoss, checkScoreLoss, type ScoreLoss } from './score-loss.js';

export interface SquareOptions extends AttackContext {
  /** 'linf' (default) or 'l2'. */
  norm?: 'linf' | 'l2';
  /** Default 8/255 (L∞), 0.5 (L2). */
  eps?: number;
  /**
   * Queries per sample and restart, everything included: the clean query (first restart only),
   * the initial point and one per iteration (default 5000, AutoAttack's; ART's 100 is far too few).
   */
  queries?: number;
  /** Fraction of the image's pixels the first windows cover (default 0.8). */
  pInit?: number;
  /** Runs from fresh initial points on the samples not broken yet (default 1). */
  restarts?: number;
  /**
   * The schedule halves p at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of a
   * 10000-query run; when true (default) those points are stretched to the budget, so a small
   * budget still reaches small windows. AutoAttack's standard run sets false (with 5000 queries).
   */
  rescaleSchedule?: boolean;
  /** The loss the search lowers (default 'margin'; 'cross-entropy' treats the scores as logits). */
  loss?: ScoreLoss;
}

interface Resolved extends AttackContext {
  norm: 'linf' | 'l2';
  eps: number;
  queries: number;
  pInit: number;
  restarts: number;
  rescaleSchedule: boolean;
  loss: ScoreLoss;
}

interface Image {
  c: number;
  h: number;
  w: number;
}

const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

export async function square(classifier: Classifier, task: AttackTask, options: SquareOptions = {}): Promise<AttackOutput> {
  const o = resolve(classifier, options);
  const [c, h, w] = classifier.sampleDims;
  const image: Image = { c, h, w };
  const d = classifier.sampleSize;
  const k = classifier.classes;
  const n = task.labels.length;
  const { box } = classifier;
  const seed = o.seed ?? 0;
  const { adversarial, queriesPerSample, fooled: broken, bestLoss } = await scoreBasedStart(classifier, task);

  const initWidth = o.norm === 'linf' ? c * w : tiling(image).count * (c + 1);
  const iterWidth = o.norm === 'linf' ? 2 + c : 5 + c;
  const iterationsOf = (restart: number) => o.queries - 1 - (restart === 0 ? 1 : 0);
  const total = range(o.restarts).reduce((sum, r) => sum + iterationsOf(r), 0);
  const patterns = new Map<number, Float64Array>();
  let done = 0;

  for (let restart = 0; restart < o.restarts; restart++) {
    let rows = Int32Array.from(range(n).filter((i) => !broken[i]));
    if (rows.length === 0) break;
    let x0 = gather(task.x, d, rows);
    const initDraws = await randomUniform(n * initWidth, { seed, offset: restart * n * initWidth });
    let best = o.norm === 'linf' ? linfStart(x0, rows, initDraws, initWidth, image, o.eps) : l2Start(x0, rows, initDraws, initWidth, image, o.eps, patterns);
    await project(o.norm, best, x0, d, o.eps, { box, out: best });
    let loss = new Float64Array(rows.length);
    await score(best, (r, _fooled, value) => (loss[r] = value));

    const iterations = iterationsOf(restart);
    for (let it = 0; it < iterations && rows.length > 0; it++) {
      o.signal?.throwIfAborted();
      const offset = o.restarts * n * initWidth + (restart * o.queries + it) * n * iterWidth;
      const draws = await randomUniform(n * iterWidth, { seed, offset });
      const p = fraction(o, it);
      const candidate = o.norm === 'linf' ? linfCandidate(best, x0, rows, draws, iterWidth, image, linfSide(p, image), o.eps) : l2Candidate(best, x0, rows, draws, iterWidth, image, l2Side(p, image), o.eps, patterns);
      await project(o.norm, candidate, x0, d, o.eps, { box, out: candidate });
      await score(candidate, (r, fooled, value) => {
        if (!fooled && !(value < loss[r])) return;
        best.set(candidate.subarray(r * d, (r + 1) * d), r * d);
        loss[r] = value;
      });
      o.progress?.(++done, total);
    }
    done = range(restart + 1).reduce((sum, r) => sum + iterationsOf(r), 0);

    // the samples still unbroken keep this restart's best point if it beats the earlier ones
    scatter(adversarial, best, d, rows, (r) => {
      if (!(loss[r] < bestLoss[rows[r]])) return false;
      bestLoss[rows[r]] = loss[r];
      return true;
    });

    /**
     * Scores `points` (one per row) and counts the query, lets `accept` update the running best,
     * then settles the fooled rows into the output and drops them from the search.
     */
    async function score(points: Float32Array, accept: (r: number, fooled: boolean, value: number) => void): Promise<void> {
      const scores = await classifier.scores(points);
      for (const i of rows) queriesPerSample[i]++;
      const fooled = adversarialRows(scores, k, rows, task);
      const values = attackerLoss(scores, k, rows, task, o.loss);
      for (let r = 0; r < rows.length; r++) accept(r, fooled[r] === 1, values[r]);
      if (!fooled.includes(1)) return;
      scatter(adversarial, points, d, rows, (r) => fooled[r] === 1);
      for (let r = 0; r < rows.length; r++) if (fooled[r]) broken[rows[r]] = 1;
      const keep = range(rows.length).filter((r) => !fooled[r]);
      [rows, x0, best] = [gather(rows, 1, keep), gather(x0, d, keep), gather(best, d, keep)];
      loss = Float64Array.from(keep, (r) => loss[r]);
    }
  }
  return { adversarial, queriesPerSample };
}

function resolve(classifier: Classifier, o: SquareOptions): Resolved {
  const norm = o.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new RangeError(`Square supports the linf and l2 norms, got '${norm}'`);
  const eps = o.eps ?? (norm === 'linf' ? 8 / 255 : 0.5);
  checkThreat({ norm, eps });
  const pInit = o.pInit ?? 0.8;
  if (!(pInit > 0 && pInit <= 1)) throw new RangeError(`pInit must be in (0, 1], got ${pInit}`);
  const dims = classifier.sampleDims;
  if (dims.length !== 3) throw new RangeError(`Square needs image samples [channels, height, width]; this classifier's samples are [${dims.join(', ')}]`);
  return {
    ...o,
    norm,
    eps,
    queries: checkCount('queries', o.queries ?? 5000, 2),
    pInit,
    restarts: checkCount('restarts', o.restarts ?? 1),
    rescaleSchedule: o.rescaleSchedule ?? true,
    loss: checkScoreLoss(o.loss ?? 'margin'),
  };
}

/** The fraction p of the pixels a window covers at iteration `it`. */
function fraction(o: Resolved, it: number): number {
  const t = o.rescaleSchedule ? Math.floor((it * 10000) / o.queries) : it;
  return o.pInit / 2 ** HALVINGS.filter((b) => t > b).length;
}

/** Window side for a fraction p of h·w pixels, at least 1 and fitting both height and width. */
function linfSide(p: number, { h, w }: Image): number {
  return Math.min(Math.max(Math.round(Math.sqrt(p * h * w)), 1), h, w);
}

/** As linfSide, but at least 3 and odd (the nested pattern needs a centre), still fitting the image. */
function l2Side(p: number, { h, w }: Image): number {
  const s = Math.max(Math.round(Math.sqrt(p * h * w)), 3);
  return Math.min(s % 2 === 0 ? s + 1 : s, h, w);
}

/** An integer in [0, max] from a uniform number in [0, 1). */
function pick(u: number, max: number): number {
  return Math.min(max, Math.floor(u * (max + 1)));
}

const sign = (u: number) => (u < 0.5 ? -1 : 1);

/** Vertical stripes: x0 ± ε, one sign per channel and column. */
function linfStart(x0: Float32Array, rows: Int32Array, draws: Float32Array, width: number, { c, h, w }: Image, eps: number): Float32Array {
  const out = new Float32Array(x0.length);
  const d = c * h * w;
  for (let r = 0; r < rows.length; r++) {
    const u = rows[r] * width;
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const e = r * d + (ch * h + y) * w + x;
          out[e] = x0[e] + eps * sign(draws[u + ch * w + x]);
        }
      }
    }
  }
  return out;
}

/** The best point with one window set to x0 ± ε, one sign per channel (projection clips to the box). */
function linfCandidate(best: Float32Array, x0: Float32Array, rows: Int32Array, draws: Float32Array, width: number, { c, h, w }: Image, s: number, eps: number): Float32Array {
  const out = best.slice();
  const d = c * h * w;
  for (let r = 0; r < rows.length; r++) {
    const u = rows[r] * width;
    const top = pick(draws[u], h - s), left = pick(draws[u + 1], w - s);
    for (let ch = 0; ch < c; ch++) {
      const value = eps * sign(draws[u + 2 + ch]);
      for (let y = top; y < top + s; y++) {
        for (let x = left; x < left + s; x++) {
          const e = r * d + (ch * h + y) * w + x;
          out[e] = x0[e] + value;
        }
      }
    }
  }
  return out;
}

/** Tiles of side ⌊min(h, w)/5⌋ covering the image as far as they fit, centred. */
function tiling({ h, w }: Image): { side: number; across: number; down: number; top: number; left: number; count: number } {
  const side = Math.max(1, Math.floor(Math.min(h, w) / 5));
  const down = Math.floor(h / side), across = Math.floor(w / side);
  return { side, across, down, top: (h - down * side) >> 1, left: (w - across * side) >> 1, count: across * down };
}

/** A tiling of nested-squares patterns with random signs and orientations, scaled to ‖δ‖₂ = ε. */
function l2Start(x0: Float32Array, rows: Int32Array, draws: Float32Array, width: number, image: Image, eps: number, patterns: Map<number, Float64Array>): Float32Array {
  const { c, h, w } = image;
  const d = c * h * w;
  const t = tiling(image);
  const delta = new Float64Array(d);
  const out = new Float32Array(x0.length);
  for (let r = 0; r < rows.length; r++) {
    delta.fill(0);
    for (let tile = 0; tile < t.count; tile++) {
      const u = rows[r] * width + tile * (c + 1);
      const eta = pattern(t.side, draws[u] < 0.5, patterns);
      const top = t.top + Math.floor(tile / t.across) * t.side, left = t.left + (tile % t.across) * t.side;
      for (let ch = 0; ch < c; ch++) {
        const s = sign(draws[u + 1 + ch]);
        for (let y = 0; y < t.side; y++) for (let x = 0; x < t.side; x++) delta[(ch * h + top + y) * w + left + x] = s * eta[y * t.side + x];
      }
    }
    const scale = eps / Math.sqrt(sumOfSquares(delta));
    for (let j = 0; j < d; j++) out[r * d + j] = x0[r * d + j] + scale * delta[j];
  }
  return out;
}

/**
 * The best point with the perturbation mass of two random windows (plus whatever the box cut
 * off) moved into the first: per channel, the first window becomes the normalised sum of a
 * signed nested pattern and its own normalised old content, scaled so that the channel keeps the
 * mass the two windows had, and the second window is zeroed. ‖δ‖₂² is thus max(‖δ‖₂², ε²).
 */
function l2Candidate(best: Float32Array, x0: Float32Array, rows: Int32Array, draws: Float32Array, width: number, { c, h, w }: Image, s: number, eps: number, patterns: Map<number, Float64Array>): Float32Array {
  const out = best.slice();
  const d = c * h * w;
  const fresh = new Float64Array(s * s);
  for (let r = 0; r < rows.length; r++) {
    const u = rows[r] * width;
    const top1 = pick(draws[u], h - s), left1 = pick(draws[u + 1], w - s);
    const top2 = pick(draws[u + 2], h - s), left2 = pick(draws[u + 3], w - s);
    const eta = pattern(s, draws[u + 4] < 0.5, patterns);
    const base = r * d;
    const delta = (e: number) => best[e] - x0[e];
    let norm2 = 0;
    for (let j = 0; j < d; j++) norm2 += delta(base + j) ** 2;
    const slack = Math.max(eps * eps - norm2, 0) / c;
    const inFirst = (y: number, x: number) => y >= top1 && y < top1 + s && x >= left1 && x < left1 + s;
    for (let ch = 0; ch < c; ch++) {
      const at = (y: number, x: number) => base + (ch * h + y) * w + x;
      let first = 0, second = 0;
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          first += delta(at(top1 + y, left1 + x)) ** 2;
          if (!inFirst(top2 + y, left2 + x)) second += delta(at(top2 + y, left2 + x)) ** 2;
        }
      }
      const old = 1 / (Math.sqrt(first) + 1e-12);
      const value = sign(draws[u + 5 + ch]);
      let freshNorm2 = 0;
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          fresh[y * s + x] = value * eta[y * s + x] + old * delta(at(top1 + y, left1 + x));
          freshNorm2 += fresh[y * s + x] ** 2;
        }
      }
      const scale = Math.sqrt(first + second + slack) / (Math.sqrt(freshNorm2) + 1e-12);
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) out[at(top2 + y, left2 + x)] = x0[at(top2 + y, left2 + x)];
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) out[at(top1 + y, left1 + x)] = x0[at(top1 + y, left1 + x)] + scale * fresh[y * s + x];
    }
  }
  return out;
}

/**
 * The s × s pattern of the L2 attack, unit L2 norm: the upper half rows hold concentric squares
 * whose weight grows towards their centre (ring k from it adds 1/(k+1)² to everything inside),
 * the lower half the same with the opposite sign; optionally transposed. Cached per (s, transposed).
 */
function pattern(s: number, transposed: boolean, cache: Map<number, Float64Array>): Float64Array {
  const key = 2 * s + (transposed ? 1 : 0);
  const cached = cache.get(key);
  if (cached) return cached;
  const upper = s >> 1;
  const out = new Float64Array(s * s);
  const halves = [
    { from: 0, rows: upper, value: 1 },
    { from: upper, rows: s - upper, value: -1 },
  ];
  for (const { from, rows, value } of halves) {
    const cy = rows >> 1, cx = s >> 1;
    const rings = Math.max(cy, cx) + 1;
    let norm2 = 0;
    const half = new Float64Array(rows * s);
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < s; x++) {
        let v = 0;
        for (let ring = Math.max(Math.abs(y - cy), Math.abs(x - cx)); ring < rings; ring++) v += 1 / (ring + 1) ** 2;
        half[y * s + x] = v;
        norm2 += v * v;
      }
    }
    for (let e = 0; e < half.length; e++) out[from * s + e] = (value * half[e]) / Math.sqrt(norm2);
  }
  const total = Math.sqrt(sumOfSquares(out));
  for (let e = 0; e < out.length; e++) out[e] /= total;
  const result = transposed ? Float64Array.from(out, (_, e) => out[(e % s) * s + Math.floor(e / s)]) : out;
  cache.set(key, result);
  return result;
}

function sumOfSquares(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return sum;
}
