// Every metric on two batches small enough to work out by hand, and the input errors. Logits are
// logs of chosen probabilities, so softmax gives those probabilities back (to float32 rounding).
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  adaptiveCalibrationError,
  brierScore,
  calibrationReport,
  classwiseCalibrationError,
  confidenceHistogram,
  expectedCalibrationError,
  maximumCalibrationError,
  negativeLogLikelihood,
  reliabilityDiagram,
} from '@onnx-audit/calibration';

const logitsOf = (rows: number[][]) => Float32Array.from(rows.flat(), Math.log);
const DIGITS = 6; // float32 probabilities: about 1e-7 from the decimal values

describe('two classes, four samples, two bins', () => {
  // sample: probabilities, label -> top class, confidence, correct
  // 0: [.75, .25], 0 -> 0, .75, yes
  // 1: [.25, .75], 0 -> 1, .75, no
  // 2: [.1, .9],   1 -> 1, .9,  yes
  // 3: [.5, .5],   0 -> 0 (tie: lower index), .5, yes
  const logits = logitsOf([[0.75, 0.25], [0.25, 0.75], [0.1, 0.9], [0.5, 0.5]]);
  const labels = new Int32Array([0, 0, 1, 0]);
  const two = { bins: 2 };

  it('accuracy, NLL and Brier', async () => {
    expect(await accuracy(logits, labels, 2)).toBe(0.75);
    expect(await negativeLogLikelihood(logits, labels, 2)).toBeCloseTo(-(Math.log(0.75) + Math.log(0.25) + Math.log(0.9) + Math.log(0.5)) / 4, DIGITS);
    // per sample Σ_k (p_k - y_k)²: .125, 1.125, .02, .5
    expect(await brierScore(logits, labels, 2)).toBeCloseTo((0.125 + 1.125 + 0.02 + 0.5) / 4, DIGITS);
  });

  it('equal width: 0.5 falls in the upper bin, the lower bin is empty', async () => {
    // one bin of all four: confidence (.75 + .75 + .9 + .5)/4 = .725, accuracy .75
    expect(await expectedCalibrationError(logits, labels, 2, two)).toBeCloseTo(0.025, DIGITS);
    expect(await maximumCalibrationError(logits, labels, 2, two)).toBeCloseTo(0.025, DIGITS);
    const [empty, full] = await reliabilityDiagram(logits, labels, 2, two);
    expect(empty).toEqual({ lower: 0, upper: 0.5, count: 0, meanConfidence: null, accuracy: null, gap: null });
    expect(full).toMatchObject({ lower: 0.5, upper: 1, count: 4, accuracy: 0.75 });
    expect(full.meanConfidence).toBeCloseTo(0.725, DIGITS);
    expect(full.gap).toBeCloseTo(-0.025, DIGITS);
    expect(await confidenceHistogram(logits, labels, 2, two)).toEqual([{ lower: 0, upper: 0.5, count: 0 }, { lower: 0.5, upper: 1, count: 4 }]);
  });

  it('equal mass: tied confidences are split by sample index', async () => {
    // sorted: .5 (3, yes), .75 (0, yes) | .75 (1, no), .9 (2, yes)
    // bin 0: confidence .625, accuracy 1; bin 1: confidence .825, accuracy .5
    const mass = { bins: 2, binning: 'equal-mass' } as const;
    expect(await expectedCalibrationError(logits, labels, 2, mass)).toBeCloseTo(0.5 * 0.375 + 0.5 * 0.325, DIGITS);
    expect(await maximumCalibrationError(logits, labels, 2, mass)).toBeCloseTo(0.375, DIGITS);
    const bins = await reliabilityDiagram(logits, labels, 2, mass);
    expect(bins.map((b) => [b.count, b.accuracy])).toEqual([[2, 1], [2, 0.5]]);
    expect(bins[0].lower).toBe(0.5);
    expect(bins[1].upper).toBeCloseTo(0.9, DIGITS);
  });

  it('classwise ECE and ACE', async () => {
    // class 0, p0 (is class 0): .75 (1), .25 (1), .1 (0), .5 (1)
    //   equal width: {.25, .1}: mean .175, freq .5 | {.75, .5}: mean .625, freq 1  -> .1625 + .1875
    // class 1, p1: .25 (0), .75 (0), .9 (1), .5 (0)
    //   equal width: {.25}: freq 0 | {.75, .9, .5}: mean .71667, freq 1/3        -> .0625 + .2875
    expect(await classwiseCalibrationError(logits, labels, 2, two)).toBeCloseTo((0.35 + 0.35) / 2, DIGITS);
    // equal mass, class 0: {.1, .25}: mean .175, freq .5 | {.5, .75}: mean .625, freq 1 -> .35
    //             class 1: {.25, .5}: mean .375, freq 0 | {.75, .9}: mean .825, freq .5 -> .35
    expect(await adaptiveCalibrationError(logits, labels, 2, two)).toBeCloseTo(0.35, DIGITS);
  });
});

describe('three classes, four samples, two bins', () => {
  // 0: [.7, .2, .1],    label 0 -> 0, .7,  yes
  // 1: [.1, .65, .25],  label 2 -> 1, .65, no
  // 2: [.1, .3, .6],    label 2 -> 2, .6,  yes
  // 3: [.4, .4, .2],    label 1 -> 0, .4,  no
  const logits = logitsOf([[0.7, 0.2, 0.1], [0.1, 0.65, 0.25], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]]);
  const labels = new Int32Array([0, 2, 2, 1]);

  it('gives every metric in one report', async () => {
    const report = await calibrationReport(logits, labels, 3, { bins: 2 });
    expect(report).toMatchObject({ samples: 4, classes: 3, bins: 2, binning: 'equal-width', accuracy: 0.5 });
    expect(report.nll).toBeCloseTo(-(Math.log(0.7) + Math.log(0.25) + Math.log(0.6) + Math.log(0.4)) / 4, DIGITS);
    // per sample: .09 + .04 + .01, .01 + .4225 + .5625, .01 + .09 + .16, .16 + .36 + .04
    expect(report.brier).toBeCloseTo((0.14 + 0.995 + 0.26 + 0.56) / 4, DIGITS);
    // {.4 no}: gap .4 | {.7 yes, .65 no, .6 yes}: confidence .65, accuracy 2/3
    expect(report.ece).toBeCloseTo(0.25 * 0.4 + 0.75 * (2 / 3 - 0.65), DIGITS);
    expect(report.mce).toBeCloseTo(0.4, DIGITS);
    // class 0: {.1, .1, .4}: mean .2, freq 0 | {.7}: freq 1              -> .15 + .075
    // class 1: {.2, .3, .4}: mean .3, freq 1/3 | {.65}: freq 0           -> .025 + .1625
    // class 2: {.1, .25, .2}: mean .18333, freq 1/3 | {.6}: freq 1       -> .1125 + .1
    expect(report.classwiseEce).toBeCloseTo((0.225 + 0.1875 + 0.2125) / 3, DIGITS);
    // class 0: {.1, .1}: freq 0 | {.4, .7}: mean .55, freq .5            -> .05 + .025
    // class 1: {.2, .3}: freq 0 | {.4, .65}: mean .525, freq .5          -> .125 + .0125
    // class 2: {.1, .2}: freq 0 | {.25, .6}: mean .425, freq 1           -> .075 + .2875
    expect(report.ace).toBeCloseTo((0.075 + 0.1375 + 0.3625) / 3, DIGITS);
    expect(report.reliability.map((b) => b.count)).toEqual([1, 3]);
    expect(report.histogram.map((b) => b.count)).toEqual([1, 3]);
  });

  it('equal-mass report: the histogram stays equal-width', async () => {
    // sorted: .4 (no), .6 (yes) | .65 (no), .7 (yes): gaps 0 and .175
    const report = await calibrationReport(logits, labels, 3, { bins: 2, binning: 'equal-mass' });
    expect(report.ece).toBeCloseTo(0.5 * 0.175, DIGITS);
    expect(report.mce).toBeCloseTo(0.175, DIGITS);
    expect(report.reliability.map((b) => b.count)).toEqual([2, 2]);
    expect(report.histogram).toEqual([{ lower: 0, upper: 0.5, count: 1 }, { lower: 0.5, upper: 1, count: 3 }]);
  });

  it('defaults to 15 equal-width bins', async () => {
    const report = await calibrationReport(logits, labels, 3);
    expect(report).toEqual(await calibrationReport(logits, labels, 3, { bins: 15, binning: 'equal-width' }));
    expect(report.reliability).toHaveLength(15);
  });

  it('with one sample per bin, ECE is the mean |correct - confidence|', async () => {
    // 19 bins, none of whose edges is near a confidence: .4, .6, .65 and .7 land in bins 7, 11, 12 and 13
    expect(await expectedCalibrationError(logits, labels, 3, { bins: 19 })).toBeCloseTo((0.3 + 0.65 + 0.4 + 0.4) / 4, DIGITS);
  });
});

describe('inputs', () => {
  const logits = new Float32Array([1, 2, 3, 4]);
  const labels = new Int32Array([0, 1]);

  async function rejection(run: () => Promise<unknown>): Promise<Error> {
    const error = await run().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).not.toContain('\n');
    return error as Error;
  }

  it('refuses an empty batch, a shape mismatch and a label out of range', async () => {
    expect((await rejection(() => calibrationReport(new Float32Array(0), new Int32Array(0), 2))).message).toMatch(/no samples/);
    expect((await rejection(() => calibrationReport(logits, labels, 3))).message).toMatch(/4 values, expected 2 labels x 3 classes = 6/);
    expect((await rejection(() => accuracy(logits, new Int32Array([0, 2]), 2))).message).toMatch(/labels\[1\] is 2, outside \[0, 2\)/);
    expect((await rejection(() => accuracy(logits.subarray(0, 2), new Int32Array([0, 0]), 1))).message).toMatch(/classes must be an integer >= 2/);
  });

  it('names the index of a NaN or +Infinity logit', async () => {
    expect((await rejection(() => brierScore(new Float32Array([1, 2, NaN, 4]), labels, 2))).message).toMatch(/logits\[2\] \(sample 1, class 0\) is NaN/);
    expect((await rejection(() => brierScore(new Float32Array([1, 2, 3, Infinity]), labels, 2))).message).toMatch(/logits\[3\] \(sample 1, class 1\) is Infinity/);
    expect((await rejection(() => brierScore(new Float32Array([1, 2, -Infinity, -Infinity]), labels, 2))).message).toMatch(/sample 1 has no finite logit/);
  });

  it('takes -Infinity as a log-probability of 0', async () => {
    const logProbabilities = new Float32Array([0, -Infinity, -Infinity, 0]);
    const report = await calibrationReport(logProbabilities, labels, 2);
    expect(report).toMatchObject({ accuracy: 1, nll: 0, brier: 0, ece: 0, mce: 0, classwiseEce: 0, ace: 0 });
    expect(await negativeLogLikelihood(logProbabilities, new Int32Array([1, 1]), 2)).toBe(Infinity);
  });

  it('refuses a bad bin count or binning', async () => {
    expect((await rejection(() => expectedCalibrationError(logits, labels, 2, { bins: 0 }))).message).toMatch(/bins must be an integer/);
    expect((await rejection(() => classwiseCalibrationError(logits, labels, 2, { bins: 2.5 }))).message).toMatch(/bins must be an integer/);
    const binning = 'quantile' as 'equal-mass';
    expect((await rejection(() => calibrationReport(logits, labels, 2, { binning }))).message).toMatch(/binning must be/);
  });
});
