// The reliability diagram: per confidence bin, the accuracy (bars) against the diagonal a
// calibrated model would follow, with the gap to the bin's mean confidence shaded; before and
// after temperature scaling side by side, and the confidence histogram underneath so that a bar
// over three samples is not read like one over three thousand.
import type { TopLevelSpec } from 'vega-lite';
import type { NonNormalizedSpec } from 'vega-lite/types_unstable/spec/index.js';

import { metric } from '../html.js';
import type { CalibrationSection, ReliabilityBin } from '../schema.js';
import { renderSvg } from './svg.js';

const PANEL = { width: 300, height: 260 };

export function reliabilityChart(section: CalibrationSection): Promise<string> {
  const spec: TopLevelSpec = {
    vconcat: [
      {
        hconcat: [
          panel(`Before scaling (ECE ${metric(section.before.ece)})`, section.reliabilityBefore),
          panel(`After scaling, T = ${section.temperature.toFixed(2)} (ECE ${metric(section.after.ece)})`, section.reliabilityAfter),
        ],
      },
      {
        title: 'Top-label confidence (before scaling)',
        width: 2 * PANEL.width + 60,
        height: 110,
        data: { values: section.confidenceHistogram.filter((b) => b.count > 0) },
        mark: { type: 'bar', color: '#8c959f', stroke: '#fff', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'lower', type: 'quantitative', scale: { domain: [0, 1] }, title: 'confidence' },
          x2: { field: 'upper' },
          y: { field: 'count', type: 'quantitative', title: 'samples' },
          y2: { datum: 0 },
        },
      },
    ],
  };
  return renderSvg(spec);
}

function panel(title: string, bins: ReliabilityBin[]): NonNormalizedSpec {
  const values = bins.filter((b) => b.count > 0 && b.lower !== null && b.upper !== null && b.accuracy !== null && b.meanConfidence !== null);
  const x = { field: 'lower', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'confidence' };
  const y = { field: 'accuracy', type: 'quantitative' as const, scale: { domain: [0, 1] }, title: 'accuracy' };
  return {
    title,
    ...PANEL,
    layer: [
      { data: { values }, mark: { type: 'bar', color: '#0072B2', stroke: '#fff', strokeWidth: 0.5 }, encoding: { x, x2: { field: 'upper' }, y, y2: { datum: 0 } } },
      {
        data: { values },
        mark: { type: 'bar', color: '#D55E00', opacity: 0.35 },
        encoding: { x, x2: { field: 'upper' }, y, y2: { field: 'meanConfidence' } },
      },
      {
        data: { values: [{ p: 0 }, { p: 1 }] },
        mark: { type: 'line', color: '#1b1f24', strokeDash: [4, 3], strokeWidth: 1 },
        encoding: { x: { field: 'p', type: 'quantitative' }, y: { field: 'p', type: 'quantitative' } },
      },
    ],
  };
}
