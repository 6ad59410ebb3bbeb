// How far the minimal-perturbation attack had to go per sample: a histogram of the norms it found
// (samples with none found are left out and counted in the caption) with the median marked.
import type { TopLevelSpec } from 'vega-lite';

import { normLabel } from '../html.js';
import type { RobustnessSection } from '../schema.js';
import { renderSvg } from './svg.js';

type MinimalNorms = NonNullable<RobustnessSection['minimalNorms']>;

export function normsChart(norms: MinimalNorms): Promise<string> {
  const values = norms.values.filter(Number.isFinite).map((norm) => ({ norm }));
  const median = norms.median === null ? [] : [{ median: norms.median }];
  const spec: TopLevelSpec = {
    width: 520,
    height: 200,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: '#0072B2', stroke: '#fff', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'norm', type: 'quantitative', bin: { maxbins: 30 }, title: `minimal ${normLabel(norms.norm)} perturbation (${norms.attack})` },
          y: { aggregate: 'count', type: 'quantitative', title: 'samples' },
        },
      },
      {
        data: { values: median },
        mark: { type: 'rule', color: '#D55E00', strokeWidth: 2, strokeDash: [5, 3] },
        encoding: { x: { field: 'median', type: 'quantitative' } },
      },
    ],
  };
  return renderSvg(spec);
}
