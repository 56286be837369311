import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pdfSubsetBody, tiffPageBody } from '../../src/station-agent/scan-files.js';
import {
  findSeparator,
  separatorSheetPdf,
  separatorSheetPng,
} from '../../src/station-agent/separator-sheet.js';

// The station agent's work on image and PDF bytes (sharp, pdf-lib, QR decoding): too slow for the unit tier.

describe('bodies rebuilt after a crash', () => {
  const page = (shade: number) =>
    sharp({ create: { width: 400, height: 560, channels: 3, background: { r: shade, g: shade, b: shade } } })
      .jpeg()
      .toBuffer();

  it('are the same bytes: a PDF cut from a batch PDF, a page of a multi-page TIFF (with its resolution)', async () => {
    const pdf = await PDFDocument.create();
    for (const shade of [40, 120, 200]) {
      const image = await pdf.embedJpg(await page(shade));
      pdf.addPage([400, 560]).drawImage(image, { x: 0, y: 0, width: 400, height: 560 });
    }
    const source = Buffer.from(await pdf.save());
    const first = await pdfSubsetBody(source, [1, 2], 'batch.pdf');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a second later: no clock in the bytes
    const second = await pdfSubsetBody(source, [1, 2], 'batch.pdf');
    expect(second.sha256).toBe(first.sha256);
    expect((await PDFDocument.load(first.data)).getPageCount()).toBe(2);

    const tiff = await sharp(await page(90))
      .withMetadata({ density: 300 })
      .tiff()
      .toBuffer();
    const [a, b] = [await tiffPageBody(tiff, 0, 'x.tif'), await tiffPageBody(tiff, 0, 'x.tif')];
    expect(a.sha256).toBe(b.sha256);
    expect(a.contentType).toBe('image/png');
    expect(Math.round((await sharp(a.data).metadata()).density!)).toBe(300);
  });
});

describe('separator sheets', () => {
  it('are found again after printing and scanning (300 dpi, turned 2°, JPEG), and only they', async () => {
    const code = { ticket: 'A-017', service: 'land-registration' };
    const png = await separatorSheetPng(code);
    expect(await findSeparator(png)).toEqual(code);
    const scanned = await sharp(png)
      .resize({ width: 2480 })
      .rotate(2, { background: '#ffffff' })
      .jpeg({ quality: 60 })
      .toBuffer();
    expect(await findSeparator(scanned)).toEqual(code);
    const plain = await separatorSheetPng({});
    expect(await findSeparator(plain)).toEqual({});
    const blank = await sharp({ create: { width: 1240, height: 1754, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    expect(await findSeparator(blank)).toBeUndefined();
  });

  it('come as a one-page A4 PDF too', async () => {
    const pdf = await PDFDocument.load(await separatorSheetPdf({}));
    expect(pdf.getPageCount()).toBe(1);
    const { width, height } = pdf.getPage(0).getSize();
    expect([Math.round(width), Math.round(height)]).toEqual([595, 842]);
  });
});
