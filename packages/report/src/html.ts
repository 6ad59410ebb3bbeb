// The page's building blocks: escaping, number formats, tables and the shell with its styles.
// Every string that comes from the results goes through `escapeHtml` (a model file may be named
// anything); markup is only ever built here and in render.ts from escaped pieces.

/** Escapes text for element content and for double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A fraction as a percentage with at most 2 decimals (1 from 1% up), trailing zeros dropped: 0 → "0%", 0.125 → "12.5%", 0.0035 → "0.35%". */
export function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '—';
  const value = fraction * 100;
  const decimals = Math.abs(value) < 1 ? 2 : 1;
  return `${trimZeros(value.toFixed(decimals))}%`;
}

/** A metric such as ECE or NLL: 2 decimals, or 3 significant digits when that would read 0.00. */
export function metric(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0 || Math.abs(value) >= 0.01) return value.toFixed(2);
  return value.toPrecision(2);
}

/** Fixed decimals, '—' for missing values. */
export function fixed(value: number | null | undefined, decimals: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(decimals);
}

/** ε as "8/255 (0.0314)" when it is a whole number of 255ths, else as a plain number. */
export function formatEps(eps: number): string {
  const k = eps * 255;
  const plain = trimZeros(eps.toPrecision(3));
  if (eps > 0 && Math.abs(k - Math.round(k)) < 1e-6) return `${Math.round(k)}/255 (${trimZeros(eps.toFixed(4))})`;
  return plain;
}

/** The norm's symbol for prose and table headers. */
export function normLabel(norm: 'linf' | 'l2'): string {
  return norm === 'linf' ? 'L∞' : 'L2';
}

function trimZeros(text: string): string {
  return text.includes('.') && !/e/i.test(text) ? text.replace(/\.?0+$/, '') : text;
}

/** A cell: plain text (escaped here), a formatted number (escaped, right-aligned) or markup built by the caller from escaped parts. */
export type Cell = string | number | { num: string } | { html: string };

/** A table with one header row; numbers are right-aligned. */
export function table(headers: string[], rows: Cell[][], caption?: string): string {
  const head = `<tr>${headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('\n');
  const cap = caption === undefined ? '' : `<caption>${escapeHtml(caption)}</caption>`;
  return `<table>${cap}<thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

function cell(value: Cell): string {
  if (typeof value === 'number') return `<td class="num">${escapeHtml(String(value))}</td>`;
  if (typeof value === 'string') return `<td>${escapeHtml(value)}</td>`;
  if ('num' in value) return `<td class="num">${escapeHtml(value.num)}</td>`;
  return `<td>${value.html}</td>`;
}

/** A key/value table (provenance, model facts). */
export function definitionTable(entries: [string, Cell][]): string {
  const rows = entries.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th>${cell(v)}</tr>`).join('\n');
  return `<table class="kv"><tbody>\n${rows}\n</tbody></table>`;
}

/** A figure around inline SVG (or images) with a caption that says how to read it. */
export function figure(content: string, caption: string): string {
  return `<figure>${content}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A section with a stable id; `body` is markup. */
export function section(id: string, title: string, body: string): string {
  return `<section id="${escapeHtml(id)}">\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

/** The whole page: no scripts, no external resources; styles inline with print rules. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLES}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

// System fonts only (no web fonts to fetch). Print: no backgrounds, figures and tables kept whole,
// each section starting on its own line of flow without a forced page break.
const STYLES = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --rule: #d0d7de; --bg-alt: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 20px 0 6px; }
p.meta, figcaption, caption, .note { color: var(--muted); font-size: 0.9rem; }
caption { text-align: left; caption-side: top; padding: 4px 0; }
ul.findings li { margin: 4px 0; }
.skipped { padding: 8px 12px; border-left: 4px solid var(--rule); background: var(--bg-alt); }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9rem; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--fg); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { font-weight: 600; white-space: nowrap; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.85rem; }
pre { white-space: pre-wrap; word-break: break-all; background: var(--bg-alt); padding: 8px; margin: 4px 0 12px; }
figure { margin: 12px 0 20px; }
figure svg { max-width: 100%; height: auto; }
.examples { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.example { border: 1px solid var(--rule); padding: 8px; }
.example .images { display: flex; gap: 6px; }
.example .images div { text-align: center; font-size: 0.8rem; color: var(--muted); }
.example img { width: 88px; height: 88px; image-rendering: pixelated; border: 1px solid var(--rule); display: block; }
.example p { margin: 6px 0 0; font-size: 0.85rem; }
.warnings li { color: #8a4600; }
@media print {
  * { background: transparent !important; box-shadow: none !important; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table, .example, pre { break-inside: avoid; page-break-inside: avoid; }
  .skipped { border-left-color: #888; }
}
`;
