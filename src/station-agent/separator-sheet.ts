import { createRequire } from 'node:module';
import type { Options, QRCode } from 'jsqr';
import * as jsqrModule from 'jsqr';
import { PDFDocument } from 'pdf-lib';
import qrcode from 'qrcode-generator';
import sharp from 'sharp';
import { parseSeparatorText, type SeparatorCode, separatorText } from './batch-rules.js';

/**
 * Separator sheets: printed with `scan-office-station separator`, put on top of each packet in the scanner's
 * feeder, recognised by their QR code and never sent.
 */

// jsqr is CommonJS whose types declare an ES default export; at run time the default import is module.exports
// itself (the function) under Node, and { default: function } under some loaders. Take whichever is there.
type DecodeQr = (data: Uint8ClampedArray, width: number, height: number, options?: Options) => QRCode | null;
const jsqrExports = jsqrModule as unknown as { default: DecodeQr | { default: DecodeQr } };
const jsQR: DecodeQr =
  typeof jsqrExports.default === 'function' ? jsqrExports.default : jsqrExports.default.default;

const FONT_FILE = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

/** The sheet is drawn at 150 dpi: plenty for a QR code of 9 cm, and a small file. */
const SHEET_DPI = 150;
const A4_MM = { width: 210, height: 297 };
const mm = (millimetres: number) => Math.round((millimetres / 25.4) * SHEET_DPI);
const QR_SIDE_MM = 90;

const escapeMarkup = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The QR code as black modules on white, with the standard quiet zone of four modules. */
function qrPixels(text: string, sidePx: number): { data: Buffer; side: number } {
  const code = qrcode(0, 'M');
  code.addData(text, 'Byte');
  code.make();
  const modules = code.getModuleCount() + 8;
  const cell = Math.max(1, Math.floor(sidePx / modules));
  const side = modules * cell;
  const data = Buffer.alloc(side * side, 255);
  for (let row = 0; row < modules - 8; row++)
    for (let col = 0; col < modules - 8; col++) {
      if (!code.isDark(row, col)) continue;
      for (let y = 0; y < cell; y++)
        data.fill(
          0,
          ((row + 4) * cell + y) * side + (col + 4) * cell,
          ((row + 4) * cell + y) * side + (col + 5) * cell,
        );
    }
  return { data, side };
}

async function textBlock(markup: string, widthPx: number, points: number): Promise<Buffer> {
  return sharp({
    text: {
      text: markup,
      font: `DejaVu Sans ${points}`,
      fontfile: FONT_FILE,
      width: widthPx,
      dpi: SHEET_DPI,
      align: 'center',
      wrap: 'word',
    },
  })
    .greyscale()
    .negate()
    .png()
    .toBuffer();
}

/** The caption a person reads: what the sheet is, and the ticket and service it carries. */
export function separatorCaption(code: SeparatorCode): string[] {
  return [
    'SCAN-OFFICE — NEXT PACKET',
    'Роздільний аркуш — наступний пакет',
    `Ticket / Талон: ${code.ticket ?? 'next number / наступний номер'}`,
    `Service / Послуга: ${code.service ?? 'the station’s default / як налаштовано на станції'}`,
    'Put this sheet on top of the packet’s first page. It is not sent.',
    'Покладіть цей аркуш перед першою сторінкою пакета. Його не надсилають.',
  ];
}

/** An A4 separator sheet as PNG (150 dpi). */
export async function separatorSheetPng(code: SeparatorCode): Promise<Buffer> {
  const width = mm(A4_MM.width);
  const height = mm(A4_MM.height);
  const qr = qrPixels(separatorText(code), mm(QR_SIDE_MM));
  const qrImage = await sharp(qr.data, { raw: { width: qr.side, height: qr.side, channels: 1 } })
    .png()
    .toBuffer();
  const [title, titleUk, ticket, service, hint, hintUk] = separatorCaption(code).map(escapeMarkup);
  const textWidth = width - 2 * mm(20);
  const heading = await textBlock(`<b>${title}</b>\n${titleUk}`, textWidth, 20);
  const details = await textBlock(`${ticket}\n${service}`, textWidth, 16);
  const footer = await textBlock(`${hint}\n${hintUk}`, textWidth, 10);
  const sizeOf = async (image: Buffer) => {
    const { width: w = 0, height: h = 0 } = await sharp(image).metadata();
    return { w, h };
  };
  // Text images are as wide as their longest line: centre each on the page.
  const centred = async (input: Buffer, top: number) => ({
    input,
    top,
    left: Math.round((width - (await sizeOf(input)).w) / 2),
  });
  const qrTop = mm(60);
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite([
      await centred(heading, mm(22)),
      await centred(qrImage, qrTop),
      await centred(details, qrTop + qr.side + mm(10)),
      await centred(footer, height - mm(20) - (await sizeOf(footer)).h),
    ])
    .toColourspace('b-w')
    .withMetadata({ density: SHEET_DPI })
    .png()
    .toBuffer();
}

/** The same sheet as a one-page A4 PDF (the PNG, full page), for printing from any PDF viewer. */
export async function separatorSheetPdf(code: SeparatorCode): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`Separator sheet ${separatorText(code)}`);
  pdf.setProducer('scan-office-station');
  const image = await pdf.embedPng(await separatorSheetPng(code));
  const page = pdf.addPage([(A4_MM.width / 25.4) * 72, (A4_MM.height / 25.4) * 72]);
  page.drawImage(image, { x: 0, y: 0, width: page.getWidth(), height: page.getHeight() });
  return Buffer.from(await pdf.save());
}

/**
 * Side of the image the QR code is looked for in. Separator sheets carry a 9 cm code, which stays ten and more
 * pixels per module at this size, while a reduced page costs a fraction of a full one to search (every page of a
 * batch is searched).
 */
const SEARCH_SIDE_PX = 1400;

/** The separator an image shows (any format sharp reads; `page` of a multi-page TIFF), or undefined. */
export async function findSeparator(image: Buffer, page = 0): Promise<SeparatorCode | undefined> {
  const { data, info } = await sharp(image, { page, limitInputPixels: false })
    .resize({ width: SEARCH_SIDE_PX, height: SEARCH_SIDE_PX, fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const found = jsQR(
    new Uint8ClampedArray(data.buffer, data.byteOffset, data.length),
    info.width,
    info.height,
    {
      inversionAttempts: 'dontInvert',
    },
  );
  return found ? parseSeparatorText(found.data) : undefined;
}
