import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type FixtureFont, generatePage } from '../../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import { analyzeLayout, otsu } from '../../src/pipeline/deskew.js';
import { normalizePage } from '../../src/pipeline/normalize.js';

const fonts: FixtureFont[] = ['DejaVu Serif', 'PT Serif', 'DejaVu Sans'];
const angles = [-20, -17.3, -12.5, -8.8, -4.1, -1.25, -0.3, 0, 0.45, 2.7, 6.6, 10.05, 14.9, 18.2, 20];

async function layoutOf(bytes: Buffer) {
  const page = await normalizePage(bytes, GENEROUS_PAGE_LIMITS);
  return analyzeLayout(page.grey);
}

describe('skew estimation', () => {
  it.each(angles.map((angle, i) => ({ angle, font: fonts[i % fonts.length]!, dpi: i % 2 ? 300 : 200 })))(
    'finds $angle° within 0.1° ($font, $dpi dpi)',
    async ({ angle, font, dpi }) => {
      const { bytes } = await generatePage({
        skewDeg: angle,
        font,
        dpi: dpi as 200 | 300,
        blur: 0.4,
        paragraphs: { from: Math.abs(Math.round(angle)), count: 3 },
      });
      const layout = await layoutOf(bytes);
      expect(layout.blank).toBe(false);
      expect(layout.confident).toBe(true);
      expect(layout.quarterTurn).toBe(0);
      expect(Math.abs(layout.skewDeg - angle)).toBeLessThanOrEqual(0.1);
    },
  );

  it('still finds the skew under heavy noise and JPEG compression', async () => {
    const { bytes } = await generatePage({
      skewDeg: -7.7,
      dpi: 200,
      noise: 25,
      blur: 0.8,
      jpegQuality: 45,
      seed: 3,
    });
    const layout = await layoutOf(bytes);
    expect(Math.abs(layout.skewDeg - -7.7)).toBeLessThanOrEqual(0.1);
  });

  it.each([90, 270] as const)(
    'sees that text runs down a page turned %i°, and its skew',
    async (rotation) => {
      const { bytes } = await generatePage({ rotation, skewDeg: 5.5, dpi: 200 });
      const layout = await layoutOf(bytes);
      expect(layout.quarterTurn).toBe(90);
      expect(Math.abs(layout.skewDeg - 5.5)).toBeLessThanOrEqual(0.1);
    },
  );
});

describe('line pitch', () => {
  // Pango sets these fonts about 1.7–1.9 points apart per point of size (line height plus the generator's spacing).
  it.each([
    { pointSize: 8, dpi: 300, rotation: 0, skewDeg: 3 },
    { pointSize: 12, dpi: 300, rotation: 0, skewDeg: -9 },
    { pointSize: 10, dpi: 200, rotation: 90, skewDeg: 4 },
    { pointSize: 14, dpi: 200, rotation: 0, skewDeg: 0 },
  ] as const)('measures the distance between lines of $pointSize pt text at $dpi dpi', async (spec) => {
    const { bytes } = await generatePage({ ...spec, paragraphs: { from: 2, count: 3 } });
    const layout = await layoutOf(bytes);
    const pointInPixels = (spec.pointSize * spec.dpi) / 72;
    expect(layout.linePitch).toBeGreaterThan(1.55 * pointInPixels);
    expect(layout.linePitch).toBeLessThan(2.05 * pointInPixels);
  });
});

describe('pages without text', () => {
  it('flags a blank page and does not rotate it', async () => {
    const blank = await sharp({ create: { width: 1654, height: 2339, channels: 3, background: '#fdfdfb' } })
      .jpeg()
      .toBuffer();
    const layout = await layoutOf(blank);
    expect(layout).toMatchObject({ blank: true, confident: false, skewDeg: 0, quarterTurn: 0 });
  });

  it('does not rotate a photo-like page', async () => {
    const gradient = Buffer.alloc(800 * 1100);
    for (let y = 0; y < 1100; y++) for (let x = 0; x < 800; x++) gradient[y * 800 + x] = (x * 255) / 800;
    const photo = await sharp(gradient, { raw: { width: 800, height: 1100, channels: 1 } })
      .png()
      .toBuffer();
    const layout = await layoutOf(photo);
    expect(layout.blank).toBe(false);
    expect(layout.skewDeg).toBe(0);
    expect(layout.confident).toBe(false);
  });
});

describe('otsu', () => {
  it('splits a two-level histogram between its levels', () => {
    const histogram = new Uint32Array(256);
    histogram[30] = 100;
    histogram[220] = 900;
    const { threshold, darkMean, lightMean } = otsu(histogram);
    expect(threshold).toBeGreaterThanOrEqual(30);
    expect(threshold).toBeLessThan(220);
    expect([darkMean, lightMean]).toEqual([30, 220]);
  });
});

describe('normalize', () => {
  it('keeps the scan’s DPI and assumes 300 when the file gives none', async () => {
    const page = (density?: number) => {
      const image = sharp({ create: { width: 400, height: 560, channels: 3, background: '#fff' } });
      return (density ? image.withMetadata({ density }) : image).jpeg().toBuffer();
    };
    expect((await normalizePage(await page(200), GENEROUS_PAGE_LIMITS)).dpi).toBe(200);
    expect(await normalizePage(await page(), GENEROUS_PAGE_LIMITS)).toMatchObject({
      dpi: 300,
      dpiAssumed: true,
    });
  });
});
