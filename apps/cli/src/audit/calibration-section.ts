// The audit's calibration section: temperature scaling fitted on the validation data, the metrics
// before and after on the test data, reliability data, and accuracy and confidence per class.
import { calibrationReport, type CalibrationReport, fitTemperature } from '@onnx-audit/calibration';
import { type LabelledSet } from '@onnx-audit/mia';
import { predictLogits, type SessionOptions, writeModel } from '@onnx-audit/onnx';
import type { CalibrationMetrics, CalibrationSection } from '@onnx-audit/report';
import type { ModelProto } from 'onnx-buf';

export interface CalibrationInputs {
  model: ModelProto;
  val: LabelledSet & { source: string };
  test: LabelledSet & { source: string };
  classNames: string[];
  session: SessionOptions;
  /** Where to write the calibrated model. */
  out: string;
}

export async function calibrationSection(inputs: CalibrationInputs): Promise<{ section: CalibrationSection; calibrate: (model: ModelProto) => ModelProto }> {
  const { model, val, test, session } = inputs;
  const fit = await predictLogits(model, val.x, val.sampleDims, session);
  const calibrator = await fitTemperature(fit.logits, val.labels, fit.classes);
  const { logits, classes } = await predictLogits(model, test.x, test.sampleDims, session);
  const before = await calibrationReport(logits, test.labels, classes);
  const after = await calibrationReport(calibrator.apply(logits), test.labels, classes);
  await writeModel(inputs.out, calibrator.toOnnx(model));
  return {
    section: {
      status: 'done',
      temperature: calibrator.temperature,
      fittedOn: val.source,
      measuredOn: test.source,
      samples: test.labels.length,
      bins: before.bins,
      before: metrics(before),
      after: metrics(after),
      reliabilityBefore: before.reliability,
      reliabilityAfter: after.reliability,
      confidenceHistogram: before.histogram,
      perClass: perClass(logits, test.labels, classes, inputs.classNames),
      calibratedModel: inputs.out,
    },
    calibrate: (m) => calibrator.toOnnx(m),
  };
}

function metrics(r: CalibrationReport): CalibrationMetrics {
  return { accuracy: r.accuracy, nll: r.nll, brier: r.brier, ece: r.ece, mce: r.mce, classwiseEce: r.classwiseEce, ace: r.ace };
}

function perClass(logits: Float32Array, labels: Int32Array, classes: number, names: string[]): CalibrationSection['perClass'] {
  const rows = Array.from({ length: classes }, (_, c) => ({ label: names[c] ?? String(c), samples: 0, correct: 0, confidence: 0 }));
  labels.forEach((y, i) => {
    const z = logits.subarray(i * classes, (i + 1) * classes);
    let best = 0, max = -Infinity;
    z.forEach((v, k) => {
      if (v > z[best]) best = k;
      max = Math.max(max, v);
    });
    let sum = 0;
    for (const v of z) sum += Math.exp(v - max);
    rows[y].samples++;
    rows[y].correct += best === y ? 1 : 0;
    rows[y].confidence += 1 / sum;
  });
  return rows.map((r) => ({ label: r.label, samples: r.samples, accuracy: r.samples ? r.correct / r.samples : 0, meanConfidence: r.samples ? r.confidence / r.samples : 0 }));
}
