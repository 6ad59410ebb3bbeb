// Vega-Lite → SVG at build time, so the page carries finished drawings and no script. Vega's
// headless renderer ('none') measures text by estimate, which is enough for axis labels.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Shared look: system sans-serif, muted axes, no chart border. */
const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelColor: '#57606a', titleColor: '#1b1f24', gridColor: '#e5e8eb', labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, fontWeight: 600, anchor: 'start' as const },
};

/** Categorical colours (Okabe–Ito: distinguishable with the common colour-vision deficiencies). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#999999'];

/** A loader that refuses everything: the page must not depend on anything fetched at build time either. */
const OFFLINE = vega.loader();
OFFLINE.load = (uri: string) => Promise.reject(new Error(`report charts use inline data only, refused to load ${uri}`));

/** Renders a Vega-Lite spec with inline data to an SVG string; any attempt to load a resource fails. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const runtime = vega.parse(compile({ config: CHART_CONFIG, ...spec } as TopLevelSpec).spec);
  const view = new vega.View(runtime, { renderer: 'none', loader: OFFLINE });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
