// The metrics on random batches against a float64 implementation written here from the
// definitions (it shares no code with src or with the native kernels), a statistical check on
// perfectly calibrated labels, and invariances the definitions imply.
import { describe, expect, it } from 'vitest';
import { softmax } from '@onnx-audit/native';
import { calibrationReport, reliabilityDiagram, type Binning, type CalibrationReport } from '@onnx-audit/calibration';

// ---- seeded random batches ----------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomLogits(random: () => number, samples: number, classes: number, scale: number): Float32Array {
  return Float32Array.from({ length: samples * classes }, () => scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

function uniformLabels(random: () => number, samples: number, classes: number): Int32Array {
  return Int32Array.from({ length: samples }, () => Math.floor(random() * classes));
}

/** One label per row, drawn from the categorical distribution softmax(logits / temperature). */
function labelsDrawnFrom(random: () => number, logits: Float32Array, classes: number, temperature: number): Int32Array {
  const p = reference.softmax(Float32Array.from(logits, (z) => z / temperature), classes);
  return Int32Array.from(p, (row) => {
    let u = random();
    let k = 0;
    while (k < classes - 1 && u >= row[k]) u -= row[k++];
    return k;
  });
}

// ---- the float64 reference ----------------------------------------------------------------------

interface ReferenceBin {
  lower: number | null;
  upper: number | null;
  count: number;
  meanScore: number;
  frequency: number;
}

const reference = {
  softmax(logits: ArrayLike<number>, classes: number): number[][] {
    return Array.from({ length: logits.length / classes }, (_, i) => {
      const row = Array.from({ length: classes }, (_, k) => logits[i * classes + k]);
      const top = Math.max(...row);
      const e = row.map((z) => Math.exp(z - top));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    });
  },

  bins(scores: number[], outcomes: number[], bins: number, binning: Binning): ReferenceBin[] {
    const n = scores.length;
    const members: number[][] = Array.from({ length: bins }, () => []);
    if (binning === 'equal-width') {
      scores.forEach((s, i) => members[Math.min(bins - 1, Math.floor(s * bins))].push(i));
    } else {
      const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
      for (let b = 0; b < bins; b++) members[b] = order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins));
    }
    return members.map((m, b) => {
      const mean = (values: number[]) => values.reduce((a, v) => a + v, 0) / values.length;
      const ownScores = m.map((i) => scores[i]);
      const edges = binning === 'equal-width' ? [b / bins, (b + 1) / bins] : m.length ? [Math.min(...ownScores), Math.max(...ownScores)] : [null, null];
      return { lower: edges[0], upper: edges[1], count: m.length, meanScore: mean(ownScores), frequency: mean(m.map((i) => outcomes[i])) };
    });
  },

  calibrationError(bins: ReferenceBin[], n: number): number {
    return bins.filter((b) => b.count > 0).reduce((total, b) => total + (b.count / n) * Math.abs(b.frequency - b.meanScore), 0);
  },

  report(logits: Float32Array, labels: Int32Array, classes: number, bins: number, binning: Binning) {
    const n = labels.length;
    const p = reference.softmax(logits, classes);
    const predicted = p.map((row) => row.indexOf(Math.max(...row)));
    const confidence = p.map((row, i) => row[predicted[i]]);
    const correct = predicted.map((k, i): number => (k === labels[i] ? 1 : 0));
    const topLabel = reference.bins(confidence, correct, bins, binning);
    const perClass = (classBinning: Binning) => {
      let total = 0;
      for (let k = 0; k < classes; k++) {
        const isClass = Array.from(labels, (y) => (y === k ? 1 : 0));
        total += reference.calibrationError(reference.bins(p.map((row) => row[k]), isClass, bins, classBinning), n);
      }
      return total / classes;
    };
    return {
      accuracy: correct.reduce((a, c) => a + c, 0) / n,
      nll: -p.reduce((total, row, i) => total + Math.log(row[labels[i]]), 0) / n,
      brier: p.reduce((total, row, i) => total + row.reduce((s, pk, k) => s + (pk - (k === labels[i] ? 1 : 0)) ** 2, 0), 0) / n,
      ece: reference.calibrationError(topLabel, n),
      mce: Math.max(...topLabel.filter((b) => b.count > 0).map((b) => Math.abs(b.frequency - b.meanScore))),
      classwiseEce: perClass('equal-width'),
      ace: perClass('equal-mass'),
      topLabel,
      histogram: reference.bins(confidence, correct, bins, 'equal-width').map((b) => b.count),
    };
  },
};

// float32 probabilities against float64 ones: means agree to about 1e-7
const DIGITS = 6;

function expectReportMatchesReference(report: CalibrationReport, expected: ReturnType<typeof reference.report>): void {
  for (const metric of ['accuracy', 'nll', 'brier', 'ece', 'mce', 'classwiseEce', 'ace'] as const) {
    expect(report[metric], metric).toBeCloseTo(expected[metric], DIGITS);
  }
  expect(report.reliability.map((b) => b.count)).toEqual(expected.topLabel.map((b) => b.count));
  expect(report.histogram.map((b) => b.count)).toEqual(expected.histogram);
  report.reliability.forEach((bin, b) => {
    const want = expected.topLabel[b];
    for (const edge of ['lower', 'upper'] as const) {
      if (want[edge] === null) expect(bin[edge]).toBeNull();
      else expect(bin[edge]).toBeCloseTo(want[edge], DIGITS);
    }
    if (want.count === 0) return expect([bin.meanConfidence, bin.accuracy, bin.gap]).toEqual([null, null, null]);
    expect(bin.meanConfidence).toBeCloseTo(want.meanScore, DIGITS);
    expect(bin.accuracy).toBeCloseTo(want.frequency, DIGITS);
    expect(bin.gap).toBeCloseTo(want.meanScore - want.frequency, DIGITS);
  });
}

describe('random logits against the float64 reference', () => {
  const cases: Array<{ samples: number; classes: number; scale: number; bins: number; binning: Binning }> = [
    { samples: 1000, classes: 10, scale: 3, bins: 15, binning: 'equal-width' },
    { samples: 1000, classes: 10, scale: 3, bins: 15, binning: 'equal-mass' },
    { samples: 777, classes: 2, scale: 1, bins: 10, binning: 'equal-width' },
    { samples: 777, classes: 2, scale: 1, bins: 10, binning: 'equal-mass' },
    { samples: 500, classes: 100, scale: 5, bins: 1, binning: 'equal-width' },
    // more bins than samples: empty bins in both binnings
    { samples: 7, classes: 3, scale: 2, bins: 15, binning: 'equal-width' },
    { samples: 7, classes: 3, scale: 2, bins: 15, binning: 'equal-mass' },
  ];
  it.each(cases)('$samples samples, $classes classes, $bins $binning bins', async ({ samples, classes, scale, bins, binning }) => {
    const random = mulberry32(samples * 1000 + classes);
    const logits = randomLogits(random, samples, classes, scale);
    const labels = uniformLabels(random, samples, classes);
    const report = await calibrationReport(logits, labels, classes, { bins, binning });
    expectReportMatchesReference(report, reference.report(logits, labels, classes, bins, binning));
  });
});

describe('perfect calibration', () => {
  // Labels drawn from the predicted probabilities make every bin calibrated in expectation. Given
  // the scores, a bin's |freq - mean| has expectation at most 1/(2 sqrt(n_b)), so
  // E[ECE] <= sqrt(B/N)/2 (Cauchy-Schwarz); one label moves ECE by at most 1/N, so by McDiarmid
  // ECE exceeds its mean by t with probability at most exp(-2 N t²). The same holds per class.
  const samples = 20_000;
  const classes = 4;
  const bins = 15;
  const failureProbability = 1e-6;
  const bound = Math.sqrt(bins / samples) / 2 + Math.sqrt(Math.log(1 / failureProbability) / (2 * samples));

  it.each(['equal-width', 'equal-mass'] as const)('%s: every calibration error stays within the bound', async (binning) => {
    const random = mulberry32(2019);
    const logits = randomLogits(random, samples, classes, 2);
    const report = await calibrationReport(logits, labelsDrawnFrom(random, logits, classes, 1), classes, { bins, binning });
    for (const metric of ['ece', 'classwiseEce', 'ace'] as const) expect(report[metric], metric).toBeLessThan(bound);
  });

  it('labels from softmax(z / 3) (an overconfident model) exceed it many times over', async () => {
    const random = mulberry32(2017);
    const logits = randomLogits(random, samples, classes, 2);
    const report = await calibrationReport(logits, labelsDrawnFrom(random, logits, classes, 3), classes, { bins });
    expect(report.ece).toBeGreaterThan(5 * bound);
  });
});

describe('invariances', () => {
  it('equal-mass bins hold equal counts, within one, tied confidences included', async () => {
    const random = mulberry32(7);
    for (const [samples, bins] of [[100, 15], [101, 7], [16, 15], [1000, 13]]) {
      // a row repeated throughout the batch gives tied confidences
      const logits = randomLogits(random, samples, 3, 2);
      for (let i = 0; i < samples; i += 3) logits.copyWithin(3 * i, 0, 3);
      const counts = (await reliabilityDiagram(logits, uniformLabels(random, samples, 3), 3, { bins, binning: 'equal-mass' })).map((b) => b.count);
      expect(counts.reduce((a, c) => a + c, 0)).toBe(samples);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  const samples = 600;
  const classes = 5;
  const random = mulberry32(42);
  const logits = randomLogits(random, samples, classes, 3);
  const labels = uniformLabels(random, samples, classes);
  const scalars = (r: CalibrationReport) => [r.accuracy, r.nll, r.brier, r.ece, r.mce, r.classwiseEce, r.ace];

  it.each(['equal-width', 'equal-mass'] as const)('%s: reordering samples or renaming classes changes nothing', async (binning) => {
    const options = { bins: 12, binning };
    const original = scalars(await calibrationReport(logits, labels, classes, options));
    const order = Array.from({ length: samples }, (_, i) => (i * 397) % samples); // 397 is prime to 600
    const rename = [3, 0, 4, 1, 2];
    const shuffled = new Float32Array(logits.length);
    order.forEach((from, to) => rename.forEach((k, j) => (shuffled[to * classes + k] = logits[from * classes + j])));
    const shuffledLabels = Int32Array.from(order, (from) => rename[labels[from]]);
    const permuted = scalars(await calibrationReport(shuffled, shuffledLabels, classes, options));
    permuted.forEach((value, m) => expect(value).toBeCloseTo(original[m], 9));
  });

  it('log-probabilities measure the same as the logits they come from', async () => {
    const logProbabilities = await softmax(logits, classes, { log: true });
    const fromLogits = await calibrationReport(logits, labels, classes);
    const fromLogProbabilities = await calibrationReport(logProbabilities, labels, classes);
    scalars(fromLogProbabilities).forEach((value, m) => expect(value).toBeCloseTo(scalars(fromLogits)[m], DIGITS));
  });

  it('ECE is at most MCE and every count adds up to N', async () => {
    for (const binning of ['equal-width', 'equal-mass'] as const) {
      const report = await calibrationReport(logits, labels, classes, { binning });
      expect(report.ece).toBeLessThanOrEqual(report.mce);
      expect(report.reliability.reduce((a, b) => a + b.count, 0)).toBe(samples);
      expect(report.histogram.reduce((a, b) => a + b.count, 0)).toBe(samples);
    }
  });
});
