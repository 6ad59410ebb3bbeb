import { beforeAll, describe, expect, it } from 'vitest';

import { renderReport } from '../src/render.js';
import type { AuditResults } from '../src/schema.js';
import { fixture } from './fixture.js';

const SECTIONS = ['summary', 'model', 'calibration', 'robustness', 'membership', 'provenance'];

function sectionHtml(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  return html.slice(start, html.indexOf('</section>', start));
}

function count(text: string, needle: string | RegExp): number {
  return typeof needle === 'string' ? text.split(needle).length - 1 : (text.match(needle) ?? []).length;
}

describe('renderReport on the fixture', () => {
  let html: string;
  beforeAll(async () => {
    html = await renderReport(fixture());
  });

  it('has every section exactly once, in order', () => {
    const positions = SECTIONS.map((id) => {
      expect(count(html, `id="${id}"`), id).toBe(1);
      return html.indexOf(`id="${id}"`);
    });
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('inlines four well-formed SVG charts with unique element ids', () => {
    // reliability, robustness curve, minimal norms, ROC
    expect(count(html, '<svg')).toBe(4);
    expect(count(html, '</svg>')).toBe(4);
    for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g)!) {
      expect(count(svg, '<svg')).toBe(1);
      expect(count(svg, /<g[\s>]/g)).toBe(count(svg, '</g>'));
    }
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('fetches nothing: no script, no link, every src/href inline', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    const refs = [...html.matchAll(/\b(?:src|href|xlink:href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBe(9); // 3 examples × clean, perturbation, adversarial
    for (const ref of refs) expect(ref).toMatch(/^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    // Only the SVG namespace declarations may name a URL.
    const urls = html.match(/https?:\/\/[^"'\s)]*/g)!;
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });

  it('draws the reliability bars at the fixture accuracies (confidence², 260 px panels)', () => {
    const svg = sectionHtml(html, 'calibration');
    const bars = [...svg.matchAll(/aria-label="confidence: ([\d.]+); accuracy: [\d.e-]+; upper: [\d.]+" role="graphics-symbol" aria-roledescription="bar" d="M[\d.]+,[\d.]+h[\d.]+v([\d.]+)h-[\d.]+Z" fill="#0072B2"/g)];
    expect(bars.length).toBe(18); // 9 non-empty bins, before and after
    for (const [, lower, height] of bars.slice(0, 9)) {
      const confidence = Number(lower) + 0.05;
      expect(Number(height) / 260).toBeCloseTo(confidence ** 2, 6);
    }
  });

  it('formats the numbers: ε as k/255, percentages, the metrics table', () => {
    const robustness = sectionHtml(html, 'robustness');
    expect(robustness).toContain('<td>8/255 (0.0314)</td><td class="num">1%</td><td class="num">8.5%</td><td class="num">2%</td><td class="num">4%</td>');
    expect(robustness).toContain('8 of 200 samples had no adversarial example found');
    const calibration = sectionHtml(html, 'calibration');
    expect(calibration).toContain('<td>ECE</td><td class="num">0.12</td><td class="num">0.02</td>');
    expect(calibration).toContain('<td>accuracy</td><td class="num">91.2%</td><td class="num">91.2%</td>');
    expect(sectionHtml(html, 'membership')).toContain('<li><strong>shokri</strong>: pass --shadow-data to train shadow models</li>');
  });

  it('lists the interplay rows for each attack and variant', () => {
    const membership = sectionHtml(html, 'membership');
    expect(count(membership, 'attacker unaware</td>')).toBe(3);
    expect(count(membership, 'attacker aware</td>')).toBe(3);
    expect(count(membership, 'twin: models/mnist-cnn-adv.onnx</td>')).toBe(3);
    // lira has no twin result: its row shows dashes, not a number
    expect(membership).toContain('<td>lira</td><td>twin: models/mnist-cnn-adv.onnx</td><td class="num">—</td>');
  });

  it('has print rules', () => {
    expect(html).toMatch(/@media print \{[\s\S]*break-inside: avoid/);
    expect(html).toMatch(/@media print \{[\s\S]*background: transparent !important/);
  });
});

describe('renderReport on other inputs', () => {
  it('shows a skipped section with its reason and draws no chart for it', async () => {
    const results: AuditResults = {
      ...fixture(),
      membership: { status: 'skipped', reason: 'pass --members, --nonmembers and --aux to measure membership leakage' },
      robustness: { status: 'skipped', reason: 'pass --eps to evaluate robustness' },
    };
    const html = await renderReport(results);
    for (const id of SECTIONS) expect(count(html, `id="${id}"`), id).toBe(1);
    const membership = sectionHtml(html, 'membership');
    expect(membership).toContain('Skipped: pass --members, --nonmembers and --aux to measure membership leakage');
    expect(membership).not.toContain('<svg');
    expect(sectionHtml(html, 'robustness')).toContain('Skipped: pass --eps to evaluate robustness');
    expect(count(html, '<svg')).toBe(1);
    expect(html).not.toContain('<img');
  });

  it('escapes strings from the results', async () => {
    const evil = '<script>alert(1)</script>';
    const base = fixture();
    if (base.membership.status !== 'done') throw new Error('fixture');
    const results: AuditResults = {
      ...base,
      summary: [`found ${evil}`],
      model: { ...base.model, file: evil, ops: { [evil]: 1 } },
      membership: { ...base.membership, attacks: base.membership.attacks.map((a) => ({ ...a, attack: `${a.attack}"><img src=x onerror=alert(1)>` })) },
      provenance: { ...base.provenance, command: ['onnx-audit', evil], settings: { note: evil } },
    };
    const html = await renderReport(results);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('<h1>Audit of &lt;script&gt;alert(1)&lt;/script&gt;</h1>');
    expect(html).toContain('<title>onnx-audit: &lt;script&gt;alert(1)&lt;/script&gt;</title>');
    expect(html).toContain('<td>seqmia&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>');
  });
});
