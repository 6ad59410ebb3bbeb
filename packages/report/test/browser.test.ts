// The rendered report in a real browser: loaded from a file with every non-file request refused
// (and counted), each section visible, and a full-page screenshot that is not blank. Skipped
// cleanly where no Chromium is installed (CHROMIUM_PATH, /usr/bin/chromium or chromium-browser).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { renderReport } from '../src/render.js';
import { fixture } from './fixture.js';

const executable = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && p !== '' && existsSync(p));
const SECTIONS = ['summary', 'model', 'calibration', 'robustness', 'membership', 'provenance'];

describe.skipIf(executable === undefined)('report in Chromium', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onnx-audit-report-'));
    writeFileSync(join(dir, 'report.html'), await renderReport(fixture()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads offline, shows every section and paints a non-blank page', async () => {
    const browser = await chromium.launch({ executablePath: executable!, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const refused: string[] = [];
      const loaded: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) {
          loaded.push(url);
          return route.continue();
        }
        refused.push(url);
        return route.abort();
      });
      await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
      expect(refused).toEqual([]);
      expect(loaded.filter((u) => u.startsWith('file:')).length).toBe(1);

      for (const id of SECTIONS) expect(await page.locator(`section#${id}`).isVisible(), id).toBe(true);
      expect(await page.locator('svg').count()).toBe(4);
      // Every example image decoded (a broken data URI has naturalWidth 0). No DOM lib in tsconfig: typed by hand.
      const widths = await page.locator('img').evaluateAll((imgs) => imgs.map((img) => (img as unknown as { naturalWidth: number }).naturalWidth));
      expect(widths).toEqual(Array(9).fill(28));

      const shot = await page.screenshot({ fullPage: true, type: 'png' });
      const { data, info } = await sharp(shot).removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
      expect(info.height).toBeGreaterThan(2000);
      let sum = 0;
      let sumSq = 0;
      let nonWhite = 0;
      for (const v of data) {
        sum += v;
        sumSq += v * v;
        if (v < 245) nonWhite++;
      }
      const mean = sum / data.length;
      const variance = sumSq / data.length - mean * mean;
      expect(variance).toBeGreaterThan(100);
      expect(nonWhite / data.length).toBeGreaterThan(0.01);
    } finally {
      await browser.close();
    }
  });
});
