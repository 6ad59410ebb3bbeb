// Robust accuracy against ε: one line per attack and the overall (worst case per sample) in black,
// which is the number the audit stands behind. ε = 0 is the clean accuracy by definition, so the
// curve starts there even when the evaluation did not list it.
import type { TopLevelSpec } from 'vega-lite';

import { normLabel } from '../html.js';
import type { RobustnessSection } from '../schema.js';
import { PALETTE, renderSvg } from './svg.js';

const OVERALL = 'overall (worst case)';

export function robustnessChart(section: RobustnessSection): Promise<string> {
  const curve = [...section.curve].sort((a, b) => a.eps - b.eps);
  const attacks = [...new Set(curve.flatMap((point) => point.perAttack.map((p) => p.attack)))];
  const rows = curve.flatMap((point) => [
    ...point.perAttack.map((p) => ({ eps: point.eps, series: p.attack, robustAccuracy: p.robustAccuracy })),
    { eps: point.eps, series: OVERALL, robustAccuracy: point.robustAccuracy },
  ]);
  if (curve.length > 0 && curve[0]!.eps > 0) {
    for (const series of [...attacks, OVERALL]) rows.push({ eps: 0, series, robustAccuracy: section.cleanAccuracy });
  }
  const spec: TopLevelSpec = {
    width: 520,
    height: 280,
    data: { values: rows },
    mark: { type: 'line', point: true, clip: true },
    encoding: {
      x: { field: 'eps', type: 'quantitative', title: `ε (${normLabel(section.norm)})` },
      y: { field: 'robustAccuracy', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: 'robust accuracy' },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { domain: [...attacks, OVERALL], range: [...attacks.map((_, i) => PALETTE[i % PALETTE.length]!), '#000000'] },
        title: 'attack',
      },
      strokeWidth: { condition: { test: `datum.series === '${OVERALL}'`, value: 3 }, value: 1.5 },
    },
  };
  return renderSvg(spec);
}
