// Every metric starts from the same validated view of a batch: logits in, softmax probabilities
// and the top label out. Taking logits (not probabilities) lets a calibrator's output, scaled
// logits or log-probabilities, be measured exactly like the raw model's.
import { softmax } from '@onnx-audit/native';

export interface Predictions {
  samples: number;
  classes: number;
  logits: Float32Array;
  labels: Int32Array;
  /** softmax(logits) [samples, classes], float32 from the native kernel. */
  probabilities: Float32Array;
  /** argmax of each row of logits, ties to the lower class index (as NumPy's argmax). */
  predicted: Int32Array;
  /** The probability of the predicted class (top-label confidence). */
  confidence: Float32Array;
  /** 1 where the predicted class is the label. */
  correct: Uint8Array;
}

/**
 * Checks shapes, labels and values, then computes the probabilities. -Infinity is accepted (the
 * log of a probability that is exactly 0, as some calibrators give); NaN and +Infinity are not,
 * nor a row without one finite logit.
 */
export async function predictionsFromLogits(logits: Float32Array, labels: Int32Array, classes: number): Promise<Predictions> {
  if (!Number.isInteger(classes) || classes < 2) {
    throw new RangeError(`classes must be an integer >= 2, got ${classes} (for one sigmoid logit z, pass the two logits [0, z])`);
  }
  const samples = labels.length;
  if (samples === 0) throw new RangeError('no samples: calibration metrics of an empty batch are undefined');
  if (logits.length !== samples * classes) {
    throw new RangeError(`logits hold ${logits.length} values, expected ${samples} labels x ${classes} classes = ${samples * classes}`);
  }
  const predicted = new Int32Array(samples);
  for (let i = 0; i < samples; i++) {
    const label = labels[i];
    if (label < 0 || label >= classes) throw new RangeError(`labels[${i}] is ${label}, outside [0, ${classes})`);
    let best = 0;
    for (let k = 0; k < classes; k++) {
      const z = logits[i * classes + k];
      if (Number.isNaN(z) || z === Infinity) {
        throw new RangeError(`logits[${i * classes + k}] (sample ${i}, class ${k}) is ${z}; logits must be finite or -Infinity`);
      }
      if (z > logits[i * classes + best]) best = k;
    }
    if (logits[i * classes + best] === -Infinity) throw new RangeError(`sample ${i} has no finite logit: every class has probability 0`);
    predicted[i] = best;
  }

  const probabilities = await softmax(logits, classes);
  const confidence = new Float32Array(samples);
  const correct = new Uint8Array(samples);
  for (let i = 0; i < samples; i++) {
    confidence[i] = probabilities[i * classes + predicted[i]];
    correct[i] = predicted[i] === labels[i] ? 1 : 0;
  }
  return { samples, classes, logits, labels, probabilities, predicted, confidence, correct };
}
