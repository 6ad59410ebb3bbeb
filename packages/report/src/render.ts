// The HTML report: one self-contained page from a results document. Charts are rendered to SVG
// here and images encoded to PNG data URIs, so the page has no script and fetches nothing; it
// reads the same on screen and on paper. Every string from the results is escaped.
import { normsChart } from './charts/norms.js';
import { reliabilityChart } from './charts/reliability.js';
import { robustnessChart } from './charts/robustness.js';
import { rocChart } from './charts/roc.js';
import {
  type Cell,
  definitionTable,
  escapeHtml,
  figure,
  fixed,
  formatEps,
  metric,
  normLabel,
  page,
  percent,
  section,
  table,
} from './html.js';
import { encodePng } from './png.js';
import type {
  AdversarialExample,
  AuditResults,
  CalibrationSection,
  MembershipAttackResult,
  MembershipSection,
  Provenance,
  RobustnessSection,
  Skipped,
} from './schema.js';

/** The whole report: one HTML string, no network (scripts, styles, fonts and images inline), readable printed. */
export async function renderReport(results: AuditResults): Promise<string> {
  const [calibration, robustness, membership] = await Promise.all([
    orSkipped(results.calibration, renderCalibration),
    orSkipped(results.robustness, renderRobustness),
    orSkipped(results.membership, renderMembership),
  ]);
  const header = `<header><h1>Audit of ${escapeHtml(results.model.file)}</h1>
<p class="meta">${escapeHtml(results.provenance.tool)} · ${escapeHtml(results.provenance.createdAt)}</p></header>`;
  const body = [
    header,
    section('summary', 'Summary', renderSummary(results.summary)),
    section('model', 'Model', renderModel(results.model)),
    section('calibration', 'Calibration', calibration),
    section('robustness', 'Adversarial robustness', robustness),
    section('membership', 'Membership inference', membership),
    section('provenance', 'Provenance', renderProvenance(results.provenance)),
  ].join('\n');
  return page(`onnx-audit: ${results.model.file}`, body);
}

function orSkipped<T extends { status: 'done' }>(part: T | Skipped, render: (done: T) => Promise<string>): Promise<string> {
  if (part.status === 'skipped') return Promise.resolve(`<p class="skipped">Skipped: ${escapeHtml(part.reason)}</p>`);
  return render(part);
}

function renderSummary(findings: string[]): string {
  if (findings.length === 0) return '<p class="note">No findings: every measuring section was skipped (each says what to pass to run it).</p>';
  return `<ul class="findings">${findings.map((f) => `<li>${escapeHtml(f)}</li>`).join('\n')}</ul>`;
}

function renderModel(model: AuditResults['model']): string {
  const classes = model.classNames?.length ? `${model.classes} (${model.classNames.join(', ')})` : String(model.classes);
  const facts: [string, Cell][] = [
    ['file', model.file],
    ['sha256', { html: `<code title="${escapeHtml(model.sha256)}">${escapeHtml(model.sha256.slice(0, 16))}…</code>` }],
    ['input shape', `[${model.inputShape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`],
    ['classes', classes],
    ['parameters', model.parameterCount.toLocaleString('en-US')],
  ];
  if (model.strippedSoftmax !== undefined) facts.push(['trailing softmax', `${model.strippedSoftmax} (the audit reads the logits before it)`]);
  const ops = Object.entries(model.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return `${definitionTable(facts)}\n${table(['operator', 'nodes'], ops, 'Operators')}`;
}

// ---- calibration ----------------------------------------------------------------------------------

async function renderCalibration(c: CalibrationSection): Promise<string> {
  const names: [keyof CalibrationSection['before'], string][] = [
    ['accuracy', 'accuracy'],
    ['nll', 'NLL'],
    ['brier', 'Brier score'],
    ['ece', 'ECE'],
    ['mce', 'MCE'],
    ['classwiseEce', 'classwise ECE'],
    ['ace', 'ACE'],
  ];
  const show = (key: string, v: number): string => (key === 'accuracy' ? percent(v) : metric(v));
  const metrics = table(
    ['metric', 'before', `after (T = ${c.temperature.toFixed(2)})`],
    names.map(([key, label]) => [label, { num: show(key, c.before[key]) }, { num: show(key, c.after[key]) }]),
  );
  const perClass = table(
    ['class', 'samples', 'accuracy', 'mean confidence', 'confidence − accuracy'],
    c.perClass.map((p) => [p.label, p.samples, { num: percent(p.accuracy) }, { num: percent(p.meanConfidence) }, { num: signedPoints(p.meanConfidence - p.accuracy) }]),
    'Per class, before scaling',
  );
  const chart = await reliabilityChart(c);
  return [
    `<p class="meta">Temperature T = ${c.temperature.toFixed(3)} fitted on ${escapeHtml(c.fittedOn)}; metrics measured on ${escapeHtml(c.measuredOn)} (${c.samples} samples, ${c.bins} equal-width bins).</p>`,
    metrics,
    figure(
      chart,
      'Reliability: accuracy per confidence bin (blue) against the diagonal of a calibrated model; the shaded part is the gap to the bin\'s mean confidence (above the bar: over-confident). Below: how many samples fall in each confidence bin.',
    ),
    perClass,
    c.calibratedModel === undefined ? '' : `<p>Calibrated model written to <code>${escapeHtml(c.calibratedModel)}</code>.</p>`,
  ].join('\n');
}

/** A difference of fractions in percentage points, signed. */
function signedPoints(d: number): string {
  return `${d > 0 ? '+' : d < 0 ? '−' : ''}${percent(Math.abs(d)).replace('%', ' pp')}`;
}

// ---- robustness -----------------------------------------------------------------------------------

async function renderRobustness(r: RobustnessSection): Promise<string> {
  const curve = [...r.curve].sort((a, b) => a.eps - b.eps);
  const attacks = [...new Set(curve.flatMap((p) => p.perAttack.map((a) => a.attack)))];
  const curveTable = table(
    ['ε', 'overall', ...attacks],
    curve.map((p) => [
      formatEps(p.eps),
      { num: percent(p.robustAccuracy) },
      ...attacks.map((name): Cell => {
        const hit = p.perAttack.find((a) => a.attack === name);
        return { num: hit === undefined ? '—' : percent(hit.robustAccuracy) };
      }),
    ]),
    'Robust accuracy (overall: robust only where every attack failed)',
  );
  const [curveSvg, normsSvg] = await Promise.all([robustnessChart(r), r.minimalNorms === null ? Promise.resolve('') : normsChart(r.minimalNorms)]);
  const parts = [
    `<p class="meta">${normLabel(r.norm)} threat model, suite ${escapeHtml(r.suite)}, ${r.samples} samples, clean accuracy ${escapeHtml(percent(r.cleanAccuracy))}.</p>`,
    figure(curveSvg, 'Robust accuracy against the perturbation budget ε, per attack and overall (black). ε = 0 is the clean accuracy.'),
    curveTable,
  ];
  if (r.minimalNorms !== null) {
    const m = r.minimalNorms;
    const none = m.values.filter((v) => !Number.isFinite(v)).length;
    parts.push(
      figure(
        normsSvg,
        `Smallest ${normLabel(m.norm)} perturbation that changed the prediction, per sample correct when clean (${m.attack}); dashed line: median ${fixed(m.median, 4)}.` +
          (none > 0 ? ` ${none} of ${m.values.length} samples had no adversarial example found and are not drawn.` : ''),
      ),
    );
  }
  if (r.examples.length > 0) parts.push('<h3>Examples at the largest ε</h3>', renderExamples(r.examples));
  parts.push(
    table(
      ['class', 'samples', 'clean accuracy', 'robust accuracy'],
      r.perClass.map((p) => [p.label, p.samples, { num: percent(p.cleanAccuracy) }, { num: percent(p.robustAccuracy) }]),
      'Per class, at the largest ε',
    ),
  );
  if (r.warnings.length > 0) {
    parts.push('<h3>Warnings</h3>', `<ul class="warnings">${r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('\n')}</ul>`);
  }
  if (r.adversarialExamples !== undefined) parts.push(`<p>Adversarial examples written to <code>${escapeHtml(r.adversarialExamples)}</code>.</p>`);
  return parts.join('\n');
}

function renderExamples(examples: AdversarialExample[]): string {
  const cards = examples.map((e) => {
    const images = exampleImages(e);
    const labels = `<p>true <strong>${escapeHtml(e.label)}</strong> · clean → ${escapeHtml(e.cleanPrediction)} · adversarial → <strong>${escapeHtml(e.adversarialPrediction)}</strong> (ε = ${escapeHtml(formatEps(e.eps))})</p>`;
    if (images === null) return `<div class="example"><p class="note">Cannot draw inputs of shape [${e.shape.join(', ')}] as images.</p>${labels}</div>`;
    const img = (uri: string, alt: string, caption: string): string =>
      `<div><img src="${uri}" alt="${escapeHtml(alt)}">${escapeHtml(caption)}</div>`;
    return `<div class="example"><div class="images">${img(images.clean, `clean input, true label ${e.label}`, 'clean')}${img(images.perturbation, 'perturbation', `δ ×${images.gain.toPrecision(3)}`)}${img(images.adversarial, `adversarial input, predicted ${e.adversarialPrediction}`, 'adversarial')}</div>${labels}</div>`;
  });
  return `<p class="note">The perturbation is drawn around mid-grey (zero change) and amplified by the factor shown, so that its largest component reaches black or white; unamplified it would be invisible.</p>
<div class="examples">${cards.join('\n')}</div>`;
}

/** PNG data URIs of the clean, perturbation and adversarial images; null for shapes that are not images. */
function exampleImages(e: AdversarialExample): { clean: string; perturbation: string; adversarial: string; gain: number } | null {
  const [channels, height, width] = e.shape.length === 2 ? [1, e.shape[0]!, e.shape[1]!] : (e.shape as [number, number, number]);
  if ((e.shape.length !== 2 && e.shape.length !== 3) || (channels !== 1 && channels !== 3)) return null;
  const n = channels * height * width;
  if (e.clean.length !== n || e.adversarial.length !== n) return null;
  const range = e.box.hi - e.box.lo || 1;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(e.adversarial[i]! - e.clean[i]!));
  // Perturbation in units of the box, amplified so its largest component spans half the grey range.
  const gain = maxAbs > 0 ? range / (2 * maxAbs) : 1;
  const toUri = (value: (i: number) => number): string => {
    // CHW (the model's layout) → HWC (the PNG's).
    const hwc = new Float64Array(n);
    for (let c = 0; c < channels; c++) for (let p = 0; p < height * width; p++) hwc[p * channels + c] = value(c * height * width + p);
    return `data:image/png;base64,${Buffer.from(encodePng(hwc, width, height, channels)).toString('base64')}`;
  };
  return {
    clean: toUri((i) => (e.clean[i]! - e.box.lo) / range),
    perturbation: toUri((i) => 0.5 + (gain * (e.adversarial[i]! - e.clean[i]!)) / range),
    adversarial: toUri((i) => (e.adversarial[i]! - e.box.lo) / range),
    gain,
  };
}

// ---- membership -----------------------------------------------------------------------------------

async function renderMembership(m: MembershipSection): Promise<string> {
  const parts = [
    table(
      ['attack', 'AUC', 'TPR @ 0.1% FPR', 'TPR @ 1% FPR', 'balanced accuracy', 'members / non-members', 'seconds'],
      m.attacks.map((a) => [
        a.attack,
        { num: a.auc.toFixed(3) },
        { num: tpr(a, '0.001') },
        { num: tpr(a, '0.01') },
        { num: percent(a.balancedAccuracy) },
        { num: `${a.members} / ${a.nonMembers}` },
        { num: a.seconds.toFixed(1) },
      ]),
    ),
  ];
  if (m.attacks.length > 0) {
    parts.push(
      figure(
        await rocChart(m.attacks),
        'ROC curves on log-log axes: the left part is what an attacker who must rarely be wrong achieves. Dashed: chance. Vertical rules at 0.1% and 1% FPR; the x axis starts at 1/non-members, the smallest FPR the data can measure.',
      ),
    );
  }
  if (m.skipped.length > 0) {
    parts.push('<h3>Attacks not run</h3>', `<ul>${m.skipped.map((s) => `<li><strong>${escapeHtml(s.attack)}</strong>: ${escapeHtml(s.reason)}</li>`).join('\n')}</ul>`);
  }
  if (m.calibrated !== undefined || m.twin !== undefined) parts.push('<h3>Calibration, adversarial training and leakage</h3>', interplayTable(m));
  return parts.join('\n');
}

function tpr(a: MembershipAttackResult, fpr: '0.001' | '0.01'): string {
  const value = a.tprAtFpr[fpr];
  return value === undefined ? '—' : percent(value);
}

/** Per attack, one row per variant of the target: standard, calibrated (attacker unaware / aware), twin. */
function interplayTable(m: MembershipSection): string {
  const variants: [string, MembershipAttackResult[]][] = [['standard', m.attacks]];
  if (m.calibrated !== undefined) {
    const t = m.calibrated.temperature.toFixed(2);
    variants.push([`calibrated T = ${t}, attacker unaware`, m.calibrated.attackerUnaware], [`calibrated T = ${t}, attacker aware`, m.calibrated.attackerAware]);
  }
  if (m.twin !== undefined) variants.push([`twin: ${m.twin.model}`, m.twin.attacks]);
  const names = [...new Set(variants.flatMap(([, list]) => list.map((a) => a.attack)))];
  const rows = names.flatMap((name) =>
    variants.map(([variant, list]): Cell[] => {
      const a = list.find((x) => x.attack === name);
      if (a === undefined) return [name, variant, { num: '—' }, { num: '—' }, { num: '—' }];
      return [name, variant, { num: tpr(a, '0.001') }, { num: tpr(a, '0.01') }, { num: a.auc.toFixed(3) }];
    }),
  );
  return table(['attack', 'target', 'TPR @ 0.1% FPR', 'TPR @ 1% FPR', 'AUC'], rows);
}

// ---- provenance -----------------------------------------------------------------------------------

function renderProvenance(p: Provenance): string {
  const record = (entries: [string, Cell][], headers: string[], caption: string): string =>
    entries.length === 0 ? '' : table(headers, entries, caption);
  return [
    definitionTable([
      ['tool', p.tool],
      ['created', p.createdAt],
      ['command', { html: `<code>${escapeHtml(p.command.map(shellQuote).join(' '))}</code>` }],
    ]),
    record(Object.entries(p.versions), ['component', 'version'], 'Versions'),
    record(Object.entries(p.seeds), ['seeded', 'seed'], 'Seeds'),
    record(
      Object.entries(p.timings).map(([k, s]): [string, Cell] => [k, { num: s.toFixed(1) }]),
      ['part', 'seconds'],
      'Timings',
    ),
    Object.keys(p.data).length === 0
      ? ''
      : table(
          ['part', 'source', 'samples'],
          Object.entries(p.data).map(([k, d]) => [k, d.source, d.samples]),
          'Data',
        ),
    '<h3>Settings</h3>',
    `<pre>${escapeHtml(JSON.stringify(p.settings, null, 2))}</pre>`,
  ]
    .filter((part) => part !== '')
    .join('\n');
}

/** Quotes an argument for a POSIX shell when it needs it, so the command can be copied and rerun. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
