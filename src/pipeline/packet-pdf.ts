import { createRequire } from 'node:module';
import fontkit from '@pdf-lib/fontkit';
import {
  beginText,
  drawImage,
  endText,
  PDFDocument,
  type PDFFont,
  type PDFName,
  type PDFPage,
  type PDFRef,
  radians,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
} from 'pdf-lib';
import sharp from 'sharp';
import type { OcrLine } from './ocr.js';
import { addSignaturePlaceholder, type SignatureInfo } from './pades.js';

/** DejaVu Sans covers Latin and Cyrillic; it carries the PDF's invisible text layer. */
export const PDF_FONT_FILE = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

export type PdfPageInput = {
  /** The scan: a JPEG embedded as is, never re-encoded; a (bilevel) PNG embedded as 1-bit Flate, losslessly. */
  image: Buffer;
  format: 'jpeg' | 'png';
  dpi: number;
  /** The page in pixels at `dpi`, once upright and straight. */
  width: number;
  height: number;
  /** Clockwise degrees that turn the JPEG upright and straight, about its centre. */
  turnDeg: number;
  /** OCR lines with word boxes in the upright page's pixels. */
  lines: OcrLine[];
};

export type PacketPdfInput = {
  title: string;
  subject: string;
  producer: string;
  createdAt: Date;
  pages: PdfPageInput[];
  /** Embedded as the file attachment `manifest.json`. */
  manifest: unknown;
  /** A TrueType font covering Cyrillic, for the invisible text layer. */
  font: Uint8Array;
  /** When given, the PDF gets a PAdES signature placeholder, ready for `signPdf`. */
  signature?: SignatureInfo;
};

const POINTS_PER_INCH = 72;
/** Tesseract's line box spans ascender to descender; a glyph's em is a little smaller than that span. */
const FONT_SIZE_OF_LINE_HEIGHT = 0.8;

/**
 * Places each OCR word, invisible (render mode 3), over its box: same baseline, squeezed or stretched to the box
 * width, so selection, search and text extraction follow the page image word by word, in reading order. The gap to
 * the next word gets a real space stretched to exactly that gap: extractors that infer spaces from positions and
 * those that read characters both see one space, and nothing overlaps the next word.
 */
function drawTextLayer(
  page: PDFPage,
  font: PDFFont,
  fontKey: PDFName,
  lines: OcrLine[],
  scale: number,
): void {
  const pageHeight = page.getHeight();
  const fitted = (text: string, size: number, x: number, width: number, baseline: number) => {
    const natural = font.widthOfTextAtSize(text, size);
    return [
      setCharacterSqueeze((100 * width) / natural),
      setTextMatrix(1, 0, 0, 1, x, baseline),
      showText(font.encodeText(text)),
    ];
  };
  for (const line of lines) {
    const lineHeight = (line.bbox.y1 - line.bbox.y0) * scale;
    const size = Math.max(1, lineHeight * FONT_SIZE_OF_LINE_HEIGHT);
    const baseline = pageHeight - line.bbox.y1 * scale + lineHeight * 0.2;
    for (const [index, word] of line.words.entries()) {
      const width = (word.bbox.x1 - word.bbox.x0) * scale;
      if (width <= 0 || font.widthOfTextAtSize(word.text, size) <= 0) continue;
      const next = line.words[index + 1];
      // Overlapping boxes still get a (hairline) space, so the words never run together.
      const gap = next ? Math.max(size * 0.05, (next.bbox.x0 - word.bbox.x1) * scale) : 0;
      page.pushOperators(
        beginText(),
        setFontAndSize(fontKey, size),
        setTextRenderingMode(TextRenderingMode.Invisible),
        ...fitted(word.text, size, word.bbox.x0 * scale, width, baseline),
        ...(next ? fitted(' ', size, word.bbox.x1 * scale, gap, baseline) : []),
        endText(),
      );
    }
  }
}

/** An image XObject of the document, by reference, with its size in pixels. */
type PageImage = { ref: PDFRef; width: number; height: number };

/**
 * Draws the scan turned clockwise by `turnDeg` about its centre, centred on the page; the page box crops what the
 * turn moves outside it, as a deskewed scan keeps its paper format. The viewer resamples once, at display size.
 */
function drawTurned(page: PDFPage, image: PageImage, scale: number, turnDeg: number): void {
  const width = image.width * scale;
  const height = image.height * scale;
  // PDF angles run anticlockwise, with y up.
  const angle = (-turnDeg * Math.PI) / 180;
  // drawImage turns about the image's lower-left corner: place that corner so the centre lands on the page's.
  const centre = {
    x: (width / 2) * Math.cos(angle) - (height / 2) * Math.sin(angle),
    y: (width / 2) * Math.sin(angle) + (height / 2) * Math.cos(angle),
  };
  page.pushOperators(
    ...drawImage(page.node.newXObject('Image', image.ref), {
      x: page.getWidth() / 2 - centre.x,
      y: page.getHeight() / 2 - centre.y,
      width,
      height,
      rotate: radians(angle),
      xSkew: radians(0),
      ySkew: radians(0),
    }),
  );
}

/**
 * pdf-lib's JPEG embedder parses `bytes.buffer` from its start, ignoring where the view begins (Hopding/pdf-lib#1273,
 * open since 2022). A small JPEG read back from S3 (a blank page is a few KB) can sit at an offset in Node's shared
 * buffer pool and was then parsed from other bytes: "SOI not found in JPEG" in about one bundle run in four. Such
 * views get their own copy.
 */
const withOwnBuffer = (bytes: Uint8Array): Uint8Array =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);

/**
 * A bilevel page as a 1-bit DeviceGray image, Flate-compressed: exactly its pixels, in an eighth of the bytes an
 * 8-bit image would take (pdf-lib's own PNG embedder widens every image to 8-bit RGB).
 */
async function embedBilevel(pdf: PDFDocument, png: Buffer): Promise<PageImage> {
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const rowBytes = Math.ceil(width / 8);
  const packed = new Uint8Array(rowBytes * height);
  // In DeviceGray with one bit per sample, 1 is white.
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (data[y * width + x]! >= 128) packed[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
  const stream = pdf.context.flateStream(packed, {
    Type: 'XObject',
    Subtype: 'Image',
    Width: width,
    Height: height,
    ColorSpace: 'DeviceGray',
    BitsPerComponent: 1,
  });
  return { ref: pdf.context.register(stream), width, height };
}

/** Builds the unsigned packet PDF: one page per scan, sized from its DPI, image plus invisible text, manifest. */
export async function buildPacketPdf(input: PacketPdfInput): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.registerFontkit(fontkit);
  pdf.setTitle(input.title);
  pdf.setSubject(input.subject);
  pdf.setProducer(input.producer);
  pdf.setCreator(input.producer);
  pdf.setCreationDate(input.createdAt);
  pdf.setModificationDate(input.createdAt);
  // Subset: only the glyphs the OCR text uses travel in the file.
  const font = await pdf.embedFont(input.font, { subset: true });

  for (const source of input.pages) {
    const scale = POINTS_PER_INCH / source.dpi;
    const page = pdf.addPage([source.width * scale, source.height * scale]);
    const image =
      source.format === 'png'
        ? await embedBilevel(pdf, source.image)
        : await pdf.embedJpg(withOwnBuffer(source.image));
    drawTurned(page, image, scale, source.turnDeg);
    const fontKey = page.node.newFontDictionary(font.name, font.ref);
    drawTextLayer(page, font, fontKey, source.lines, scale);
  }

  await pdf.attach(Buffer.from(JSON.stringify(input.manifest, null, 2)), 'manifest.json', {
    mimeType: 'application/json',
    description: 'Chain-of-custody manifest of this packet',
    creationDate: input.createdAt,
    modificationDate: input.createdAt,
  });
  if (input.signature) addSignaturePlaceholder(pdf, input.signature);
  return pdf.save({ useObjectStreams: false });
}
