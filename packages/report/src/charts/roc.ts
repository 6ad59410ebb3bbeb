// ROC curves on log-log axes, the view that shows what matters for membership inference: the
// true-positive rate at the few false positives an attacker can afford (Carlini et al., "Membership
// Inference Attacks From First Principles"). The x axis starts at 1/nonMembers, the smallest
// non-zero FPR the data can measure; points at 0 are drawn on that edge.
import type { TopLevelSpec } from 'vega-lite';

import type { MembershipAttackResult } from '../schema.js';
import { PALETTE, renderSvg } from './svg.js';

/** Points per curve beyond which a curve is resampled on a log-spaced FPR grid (keeps the SVG small). */
const MAX_POINTS = 300;
const FPR_RULES = [0.001, 0.01];

export function rocChart(attacks: MembershipAttackResult[]): Promise<string> {
  const xLo = 1 / Math.max(1, ...attacks.map((a) => a.nonMembers));
  const yLo = Math.min(xLo, 1 / Math.max(1, ...attacks.map((a) => a.members)));
  const rows = attacks.flatMap((a) => logCurve(a.roc.fpr, a.roc.tpr, xLo, yLo).map(([fpr, tpr]) => ({ attack: a.attack, fpr, tpr })));
  const names = attacks.map((a) => a.attack);
  const x = { field: 'fpr', type: 'quantitative' as const, scale: { type: 'log' as const, domain: [xLo, 1], nice: false }, title: 'false-positive rate' };
  const y = { field: 'tpr', type: 'quantitative' as const, scale: { type: 'log' as const, domain: [yLo, 1], nice: false }, title: 'true-positive rate' };
  const spec: TopLevelSpec = {
    width: 420,
    height: 380,
    layer: [
      {
        data: { values: [{ fpr: xLo, tpr: xLo }, { fpr: 1, tpr: 1 }] },
        mark: { type: 'line', color: '#8c959f', strokeDash: [4, 3], strokeWidth: 1, clip: true },
        encoding: { x, y },
      },
      {
        data: { values: FPR_RULES.filter((f) => f >= xLo).map((fpr) => ({ fpr, label: `${fpr * 100}% FPR` })) },
        layer: [
          { mark: { type: 'rule', color: '#57606a', strokeWidth: 1 }, encoding: { x: { field: 'fpr', type: 'quantitative' } } },
          {
            mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 3, color: '#57606a', fontSize: 10 },
            encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
          },
        ],
      },
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 1.5, clip: true, interpolate: 'step-after' },
        encoding: {
          x,
          y,
          color: { field: 'attack', type: 'nominal', scale: { domain: names, range: names.map((_, i) => PALETTE[i % PALETTE.length]!) }, title: 'attack' },
        },
      },
    ],
  };
  return renderSvg(spec);
}

/**
 * The curve's points clamped into the log axes' domain; a long curve becomes its upper envelope
 * on a log-spaced FPR grid (at each grid FPR, the best TPR reached at or below it), which is the
 * quantity the TPR@FPR columns report.
 */
export function logCurve(fpr: number[], tpr: number[], xLo: number, yLo: number): [number, number][] {
  if (fpr.length !== tpr.length) throw new RangeError(`roc: fpr and tpr differ in length (${fpr.length} vs ${tpr.length})`);
  const clamp = (f: number, t: number): [number, number] => [Math.min(1, Math.max(xLo, f)), Math.min(1, Math.max(yLo, t))];
  if (fpr.length <= MAX_POINTS) return fpr.map((f, i) => clamp(f, tpr[i]!));
  const order = fpr.map((_, i) => i).sort((a, b) => fpr[a]! - fpr[b]! || tpr[a]! - tpr[b]!);
  const out: [number, number][] = [];
  let next = 0;
  let best = 0;
  for (let g = 0; g < MAX_POINTS; g++) {
    const grid = xLo ** (1 - g / (MAX_POINTS - 1));
    while (next < order.length && fpr[order[next]!]! <= grid * (1 + 1e-12)) best = Math.max(best, tpr[order[next++]!]!);
    out.push(clamp(grid, best));
  }
  return out;
}
