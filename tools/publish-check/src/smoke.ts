// One script per package, run with node inside the folder the tarballs were installed into. Each
// imports its package the way a user does and checks a real number against one computed here.
// They are plain JavaScript (the installed packages are built JS); each exits non-zero on failure.

const check = `
function check(condition, message) {
  if (!condition) {
    console.error('smoke check failed: ' + message);
    process.exit(1);
  }
}
`;

export const SMOKE_SCRIPTS: Record<string, string> = {
  '@onnx-audit/native': `${check}
import { capabilities, softmax } from '@onnx-audit/native';
const caps = capabilities();
check(!caps.cudaCompiled, 'the CPU platform package must hold no CUDA code, got cudaCompiled ' + caps.cudaCompiled);
const p = await softmax(Float32Array.of(1, 2, 3), 3);
const e = [1, 2, 3].map((z) => Math.exp(z - 3));
const sum = e.reduce((a, b) => a + b, 0);
e.forEach((v, i) => check(Math.abs(p[i] - v / sum) < 1e-6, 'softmax ' + i + ': ' + p[i] + ' vs ' + v / sum));
console.log('native ' + caps.version + ' loaded from its prebuilt package; softmax ok');
`,
  '@onnx-audit/data': `${check}
import { loadBuiltin, parseNpy, serializeNpy } from '@onnx-audit/data';
const digits = await loadBuiltin('mnist', { perClass: 2 });
check(digits.y.length === 20 && digits.shape.join() === '20,1,28,28', 'builtin mnist shape ' + digits.shape);
const array = { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) };
const back = parseNpy(serializeNpy(array));
check(back.shape.join() === '2,3' && Array.from(back.data).join() === '1,2,3,4,5,6', 'npy round trip');
console.log('data: mnist and npy ok');
`,
  '@onnx-audit/onnx': `${check}
import { buildClassifier, predictLogits, tensorToArray } from '@onnx-audit/onnx';
const model = await buildClassifier({ input: [3], layers: [{ kind: 'linear', units: 2 }], seed: 1 });
const w = tensorToArray(model.graph.initializer.find((t) => t.name === 'fc0.weight'));
const x = Float32Array.of(0.5, -1, 2);
const { logits } = await predictLogits(model, x, [3]);
for (let k = 0; k < 2; k++) {
  const z = w[k * 3] * x[0] + w[k * 3 + 1] * x[1] + w[k * 3 + 2] * x[2];
  check(Math.abs(logits[k] - z) < 1e-5, 'logit ' + k + ': ' + logits[k] + ' vs ' + z);
}
console.log('onnx: ONNX Runtime ran a built model; logits ok');
`,
  '@onnx-audit/calibration': `${check}
import { calibrationReport } from '@onnx-audit/calibration';
// Two samples: confidences softmax([2, 0]) (correct) and softmax([0, 1]) (wrong), in one bin each.
const logits = Float32Array.of(2, 0, 0, 1);
const report = await calibrationReport(logits, Int32Array.of(0, 0), 2, { bins: 10 });
const c1 = 1 / (1 + Math.exp(-2)), c2 = 1 / (1 + Math.exp(-1));
const ece = (Math.abs(1 - c1) + Math.abs(0 - c2)) / 2;
check(Math.abs(report.ece - ece) < 1e-6, 'ECE ' + report.ece + ' vs ' + ece);
console.log('calibration: ECE ' + report.ece.toFixed(6) + ' ok');
`,
  '@onnx-audit/attacks': `${check}
import { fgsm, onnxClassifier } from '@onnx-audit/attacks';
import { buildClassifier } from '@onnx-audit/onnx';
const model = await buildClassifier({ input: [4], layers: [{ kind: 'linear', units: 3 }], seed: 2 });
const classifier = await onnxClassifier(model, { sampleDims: [4] });
const x = Float32Array.of(0.5, 0.5, 0.5, 0.5);
const { adversarial } = await fgsm(classifier, { x, labels: Int32Array.of(1) }, { eps: 0.1 });
const moved = Array.from(adversarial, (v, i) => Math.abs(v - x[i]));
check(moved.every((d) => Math.abs(d - 0.1) < 1e-6 || d < 1e-7), 'FGSM moves each input by ε or not at all: ' + moved);
await classifier.release();
console.log('attacks: FGSM ok');
`,
  '@onnx-audit/mia': `${check}
import { evaluateScores } from '@onnx-audit/mia';
const r = await evaluateScores([0.9, 0.4, 0.8, 0.3], 2);
// Pairs member > non-member: (0.9, 0.8), (0.9, 0.3), (0.4, 0.3) of 4.
check(Math.abs(r.auc - 0.75) < 1e-12, 'AUC ' + r.auc);
console.log('mia: AUC ok');
`,
  '@onnx-audit/report': `${check}
import { renderReport } from '@onnx-audit/report';
const skipped = (reason) => ({ status: 'skipped', reason });
const html = await renderReport({
  schema: 'onnx-audit/results@1', summary: ['nothing measured'],
  provenance: { tool: 'smoke', createdAt: '2026-01-01T00:00:00Z', command: [], versions: {}, seeds: {}, timings: {}, data: {}, settings: {} },
  model: { file: 'm.onnx', sha256: '0'.repeat(64), inputShape: [1], classes: 2, parameterCount: 0, ops: {} },
  calibration: skipped('pass --val'), robustness: skipped('pass --data'), membership: skipped('pass --members'),
});
for (const id of ['summary', 'model', 'calibration', 'robustness', 'membership', 'provenance']) check(html.includes('id="' + id + '"'), 'section ' + id);
console.log('report: rendered ' + html.length + ' bytes');
`,
  '@onnx-audit/cli': `${check}
import { spawnSync } from 'node:child_process';
import { writeNpz } from '@onnx-audit/data';
import { buildClassifier, writeModel } from '@onnx-audit/onnx';
const bin = 'node_modules/.bin/onnx-audit';
const doctor = spawnSync(bin, ['doctor', '--json'], { encoding: 'utf8' });
check(doctor.status === 0, 'doctor: ' + doctor.stderr);
check(JSON.parse(doctor.stdout).native.cudaCompiled === false, 'doctor reports the CPU addon');
// A bundled model: a linear classifier and labelled data written here.
await writeModel('bundled.onnx', await buildClassifier({ input: [2], layers: [{ kind: 'linear', units: 2 }], seed: 3 }));
const x = Float32Array.from({ length: 200 }, (_, i) => ((i * 37) % 100) / 100);
const y = Int32Array.from({ length: 100 }, (_, i) => (x[2 * i] > x[2 * i + 1] ? 0 : 1));
await writeNpz('val.npz', { x: { dtype: 'float32', shape: [100, 2], data: x }, y: { dtype: 'int32', shape: [100], data: y } });
const calibrate = spawnSync(bin, ['calibrate', '--model', 'bundled.onnx', '--data', 'val.npz', '--json'], { encoding: 'utf8' });
check(calibrate.status === 0, 'calibrate: ' + calibrate.stderr);
const result = JSON.parse(calibrate.stdout);
check(result.temperature > 0 && result.after.nll <= result.before.nll + 1e-9, 'temperature scaling lowers the NLL it fits: ' + JSON.stringify(result.before) + ' → ' + JSON.stringify(result.after));
console.log('cli: doctor and calibrate ok (T = ' + result.temperature.toFixed(3) + ')');
`,
};
