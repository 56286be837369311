import { createRequire } from 'node:module';
import fontkit from '@pdf-lib/fontkit';
import {
  beginMarkedContent,
  beginText,
  drawImage,
  endMarkedContent,
  endText,
  PDFArray,
  PDFDocument,
  type PDFFont,
  PDFName,
  PDFNumber,
  PDFOperator,
  PDFOperatorNames,
  PDFPage,
  PDFRawStream,
  PDFRef,
  PDFString,
  radians,
  setCharacterSqueeze,
  setFontAndSize,
  setTextMatrix,
  setTextRenderingMode,
  showText,
  TextRenderingMode,
} from 'pdf-lib';
import sharp from 'sharp';
import { baselineAt, median, type OcrLine, paragraphsOf } from './ocr.js';
import {
  addSignaturePlaceholder,
  type SignatureInfo,
  type SignaturePlaceholder,
  signaturePlaceholderIn,
} from './pades.js';
import { PdfFileWriter } from './pdf-file.js';

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
  /** BCP 47 tag of the documents' main language, for screen readers (/Lang); Ukrainian unless given. */
  language?: string;
  producer: string;
  createdAt: Date;
  /** Taken one at a time, in order: a packet's pages need not all be in memory at once. */
  pages: Iterable<PdfPageInput> | AsyncIterable<PdfPageInput>;
  /** Embedded as the file attachment `manifest.json`. */
  manifest: unknown;
  /** A TrueType font covering Cyrillic, for the invisible text layer. */
  font: Uint8Array;
  /** When given, the PDF gets a PAdES signature placeholder, ready for `signPdfFile`. */
  signature?: SignatureInfo;
};

/** A written packet PDF: its size, and where its signature placeholder is when one was asked for. */
export type PacketPdfFile = { bytes: number; placeholder?: SignaturePlaceholder };

const POINTS_PER_INCH = 72;

/**
 * The text-layer font with tesseract's GlyphLessFont metrics (ascent one em, descent zero; hhea is what pdf-lib's
 * font descriptor reads): set at a line's row height, each glyph's box then spans exactly the row above the baseline,
 * so extractors measure line spacing and column gaps as on the scan. With the font's own metrics the boxes of
 * adjacent lines overlapped or fell short and poppler split columns into fragments it read out of order.
 */
export function withRowMetrics(trueType: Uint8Array): Uint8Array {
  const font = Buffer.from(trueType);
  const tableOffset = (tag: string) => {
    for (let record = 12; record < 12 + font.readUInt16BE(4) * 16; record += 16)
      if (font.toString('latin1', record, record + 4) === tag) return font.readUInt32BE(record + 8);
    throw new Error(`the text-layer font has no ${tag} table`);
  };
  const unitsPerEm = font.readUInt16BE(tableOffset('head') + 18);
  const hhea = tableOffset('hhea');
  font.writeInt16BE(unitsPerEm, hhea + 4);
  font.writeInt16BE(0, hhea + 6);
  return font;
}
/** Where OCR stored before row heights has none, the row above the baseline is about this share of the line box. */
const ROW_OF_LINE_HEIGHT = 0.8;

/**
 * Paragraphs whose size is within this share of the page's typical one are set at exactly the typical size. One-line
 * paragraphs of body text measure up to 12 % off it, headings from 17 % (on our pages): 0.2 set some headings at body
 * size, the heading then joined the block below it in poppler and that column read out of order.
 */
const BODY_TEXT_TOLERANCE = 0.15;
/** poppler keeps consecutive lines in one block while their baselines are at most 1.5 font sizes apart. */
const MAX_PITCH_OF_FONT_SIZE = 1.4;

/**
 * One font size per paragraph, and one for all body text: the paragraph's median row height, raised where its lines
 * are further apart than MAX_PITCH_OF_FONT_SIZE (double spacing). A paragraph whose rows are within
 * BODY_TEXT_TOLERANCE of the page's typical rows is body text, set at the body size, also when it has a single line
 * (a paragraph's last line often comes out as one), so its size matches the lines above it. Extractors such as
 * poppler put lines into one block only when their font sizes agree within 5 % and their baselines are close enough
 * for the size; with blocks in pieces they read across columns. OCR stored without row heights falls back to each
 * line's box.
 */
function fontSizesOf(paragraphs: OcrLine[][], scale: number): number[] {
  const measured = paragraphs.map((paragraph) => {
    const rows = paragraph.flatMap((line) => (line.rowHeight ? [line.rowHeight] : []));
    if (rows.length === 0) return undefined;
    const pitches = paragraph
      .slice(1)
      .map((line, i) => baselineAt(line, line.bbox.x0) - baselineAt(paragraph[i]!, paragraph[i]!.bbox.x0));
    const row = median(rows);
    return { row, size: Math.max(row, pitches.length > 0 ? median(pitches) / MAX_PITCH_OF_FONT_SIZE : 0) };
  });
  const perLine = (pick: (m: { row: number; size: number }) => number) =>
    paragraphs.flatMap((paragraph, i) => {
      const m = measured[i];
      return m ? paragraph.map(() => pick(m)) : [];
    });
  const rows = perLine((m) => m.row);
  const body = rows.length > 0 ? { row: median(rows), size: median(perLine((m) => m.size)) } : undefined;
  return paragraphs.map((paragraph, i) => {
    const m = measured[i];
    const pixels = !m
      ? (paragraph[0]!.bbox.y1 - paragraph[0]!.bbox.y0) * ROW_OF_LINE_HEIGHT
      : body && Math.abs(m.row - body.row) <= body.row * BODY_TEXT_TOLERANCE
        ? body.size
        : m.size;
    return Math.max(1, pixels * scale);
  });
}

/**
 * Writes the OCR text invisibly (render mode 3) over the scan, one text object per line in tesseract's reading order
 * (block, paragraph, line), at one font size per paragraph on each line's own baseline: viewers and extractors then
 * group the lines of a column into one block and read the page in order. Each word is squeezed or stretched to its
 * box, so selection follows the image word by word; the gap to the next word gets a real space stretched to exactly
 * that gap, so extractors that infer spaces from positions and those that read characters both see one space.
 * Each paragraph is one marked-content sequence, numbered from 0 in reading order, for the structure tree's /P
 * elements; returns how many there are.
 */
function drawTextLayer(
  page: PDFPage,
  font: PDFFont,
  fontKey: PDFName,
  lines: OcrLine[],
  scale: number,
): number {
  const pageHeight = page.getHeight();
  const paragraphs = paragraphsOf(lines);
  const sizes = fontSizesOf(paragraphs, scale);
  for (const [markedContentId, paragraph] of paragraphs.entries()) {
    const size = sizes[markedContentId]!;
    page.pushOperators(
      PDFOperator.of(PDFOperatorNames.BeginMarkedContentSequence, [
        PDFName.of('P'),
        `<< /MCID ${markedContentId} >>`,
      ]),
    );
    // Pushed a line at a time: a paragraph's operators as one argument list could exceed the call stack.
    for (const line of paragraph) {
      const fitted = (text: string, x: number, width: number) => {
        const natural = font.widthOfTextAtSize(text, size);
        return [
          setCharacterSqueeze((100 * width) / natural),
          setTextMatrix(1, 0, 0, 1, x * scale, pageHeight - baselineAt(line, x) * scale),
          showText(font.encodeText(text)),
        ];
      };
      const operators = [
        beginText(),
        setFontAndSize(fontKey, size),
        setTextRenderingMode(TextRenderingMode.Invisible),
      ];
      for (const [index, word] of line.words.entries()) {
        const width = (word.bbox.x1 - word.bbox.x0) * scale;
        if (width <= 0 || font.widthOfTextAtSize(word.text, size) <= 0) continue;
        operators.push(...fitted(word.text, word.bbox.x0, width));
        // Overlapping boxes still get a (hairline) space, so the words never run together; a line's last word gets
        // one too, so the paragraph's lines read as one text in the structure tree.
        const next = line.words[index + 1];
        const gap = next ? (next.bbox.x0 - word.bbox.x1) * scale : 0;
        operators.push(...fitted(' ', word.bbox.x1, Math.max(size * 0.05, gap)));
      }
      page.pushOperators(...operators, endText());
    }
    page.pushOperators(endMarkedContent());
  }
  return paragraphs.length;
}

/** An image XObject of the document, by reference, with its size in pixels. */
type PageImage = {
  ref: PDFRef;
  width: number;
  height: number;
  /** The page's pixels, from the top left, when the image is padded beyond them. */
  content?: { width: number; height: number };
};

/**
 * Draws the scan turned clockwise by `turnDeg` about its centre, centred on the page; the page box crops what the
 * turn moves outside it, as a deskewed scan keeps its paper format. The viewer resamples once, at display size.
 */
function drawTurned(page: PDFPage, image: PageImage, scale: number, turnDeg: number): void {
  const width = image.width * scale;
  const height = image.height * scale;
  const content = image.content ?? image;
  // The centre of the page's pixels, from the image's lower-left corner (padding lies right of and below them).
  const local = { x: (content.width / 2) * scale, y: height - (content.height / 2) * scale };
  // PDF angles run anticlockwise, with y up.
  const angle = (-turnDeg * Math.PI) / 180;
  // drawImage turns about the image's lower-left corner: place that corner so the centre lands on the page's.
  const centre = {
    x: local.x * Math.cos(angle) - local.y * Math.sin(angle),
    y: local.x * Math.sin(angle) + local.y * Math.cos(angle),
  };
  page.pushOperators(
    // The scan is what the text layer transcribes: for assistive technology it is an artifact, the text is the content.
    beginMarkedContent('Artifact'),
    ...drawImage(page.node.newXObject('Image', image.ref), {
      x: page.getWidth() / 2 - centre.x,
      y: page.getHeight() / 2 - centre.y,
      width,
      height,
      rotate: radians(angle),
      xSkew: radians(0),
      ySkew: radians(0),
    }),
    endMarkedContent(),
  );
}

/**
 * The tagged-PDF structure (ISO 32000-1 §14.7): a Document element whose children are the pages' paragraphs in reading
 * order, each pointing at its marked-content sequence, so screen readers and reflow follow the text, not the layout.
 */
class ParagraphStructure {
  private readonly documentRef: PDFRef;
  private readonly paragraphs: PDFRef[] = [];
  /** The parent tree's /Nums: for each page's /StructParents key, its paragraphs by marked-content id. */
  private readonly parentTree: (PDFNumber | PDFArray)[] = [];
  private pageCount = 0;

  constructor(private readonly pdf: PDFDocument) {
    this.documentRef = pdf.context.nextRef();
  }

  addPage(page: PDFPage, paragraphCount: number): void {
    const { context } = this.pdf;
    const key = this.pageCount++;
    page.node.set(PDFName.of('StructParents'), PDFNumber.of(key));
    const elements = Array.from({ length: paragraphCount }, (_, markedContentId) =>
      context.register(
        context.obj({ Type: 'StructElem', S: 'P', P: this.documentRef, Pg: page.ref, K: markedContentId }),
      ),
    );
    this.paragraphs.push(...elements);
    this.parentTree.push(PDFNumber.of(key), context.obj(elements));
  }

  finish(language: string): void {
    const { context, catalog } = this.pdf;
    const rootRef = context.nextRef();
    context.assign(
      this.documentRef,
      context.obj({ Type: 'StructElem', S: 'Document', P: rootRef, K: this.paragraphs }),
    );
    context.assign(
      rootRef,
      context.obj({
        Type: 'StructTreeRoot',
        K: this.documentRef,
        ParentTree: context.obj({ Nums: this.parentTree }),
        ParentTreeNextKey: this.pageCount,
      }),
    );
    catalog.set(PDFName.of('StructTreeRoot'), rootRef);
    catalog.set(PDFName.of('MarkInfo'), context.obj({ Marked: true }));
    catalog.set(PDFName.of('Lang'), PDFString.of(language));
  }
}

/**
 * pdf-lib's JPEG embedder parses `bytes.buffer` from its start, ignoring where the view begins (Hopding/pdf-lib#1273,
 * open since 2022). A small JPEG read back from S3 (a blank page is a few KB) can sit at an offset in Node's shared
 * buffer pool and was then parsed from other bytes: "SOI not found in JPEG" in about one bundle run in four. Such
 * views get their own copy.
 */
const withOwnBuffer = (bytes: Uint8Array): Uint8Array =>
  bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);

/** The value of a one-value TIFF tag (SHORT or LONG) in the first IFD. */
function tiffTag(tiff: Buffer, tag: number): number {
  const little = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const ifd = u32(4);
  for (let entry = ifd + 2; entry < ifd + 2 + u16(ifd) * 12; entry += 12) {
    if (u16(entry) !== tag) continue;
    if (u32(entry + 4) !== 1) throw new Error(`TIFF tag ${tag} has more than one value`);
    return u16(entry + 2) === 3 ? u16(entry + 8) : u32(entry + 8);
  }
  throw new Error(`TIFF tag ${tag} is missing`);
}

const TIFF_TILE_OFFSETS = 324;
const TIFF_TILE_BYTE_COUNTS = 325;
/** TIFF tiles are multiples of 16 pixels on each side. */
const TILE_STEP = 16;

/**
 * A bilevel page as a CCITT Group 4 image, the scanners' own black-and-white codec: exactly its pixels, in about two
 * thirds of the bytes 1-bit Flate takes. libvips encodes it (as a TIFF of one tile, since G4 strips cannot be joined);
 * the tile is padded with white to a multiple of 16 pixels, and `content` says where the page's pixels are.
 */
async function embedBilevel(pdf: PDFDocument, png: Buffer): Promise<PageImage> {
  const { width = 0, height = 0 } = await sharp(png).metadata();
  const tileWidth = Math.ceil(width / TILE_STEP) * TILE_STEP;
  const tileHeight = Math.ceil(height / TILE_STEP) * TILE_STEP;
  const tiff = await sharp(png)
    .toColourspace('b-w')
    .tiff({ compression: 'ccittfax4', bitdepth: 1, miniswhite: true, tile: true, tileWidth, tileHeight })
    .toBuffer();
  const offset = tiffTag(tiff, TIFF_TILE_OFFSETS);
  const g4 = tiff.subarray(offset, offset + tiffTag(tiff, TIFF_TILE_BYTE_COUNTS));
  const stream = PDFRawStream.of(
    pdf.context.obj({
      Type: 'XObject',
      Subtype: 'Image',
      Width: tileWidth,
      Height: tileHeight,
      ColorSpace: 'DeviceGray',
      BitsPerComponent: 1,
      Filter: 'CCITTFaxDecode',
      DecodeParms: { K: -1, Columns: tileWidth, Rows: tileHeight },
    }),
    g4,
  );
  return {
    ref: pdf.context.register(stream),
    width: tileWidth,
    height: tileHeight,
    content: { width, height },
  };
}

/** A JPEG embedded now rather than on save, so that it can be written out with its page. */
async function embedJpeg(pdf: PDFDocument, jpeg: Buffer): Promise<PageImage> {
  const image = await pdf.embedJpg(withOwnBuffer(jpeg));
  await image.embed();
  return image;
}

/** The content streams a page has drawn into, by reference. */
function contentStreamsOf(page: PDFPage): PDFRef[] {
  const contents = page.node.get(PDFName.of('Contents'));
  const refs = contents instanceof PDFArray ? contents.asArray() : [contents];
  return refs.filter((ref) => ref instanceof PDFRef);
}

/**
 * Writes the unsigned packet PDF to `file`: one page per scan, sized from its DPI, image plus invisible text,
 * manifest. Each page's image and content stream go to the file as soon as the page is drawn and leave memory, so
 * memory does not grow with the packet; the small page dictionaries stay to the end, where the page tree, font
 * subset, manifest and signature dictionary follow them.
 */
export async function writePacketPdf(input: PacketPdfInput, file: string): Promise<PacketPdfFile> {
  const pdf = await PDFDocument.create();
  pdf.registerFontkit(fontkit);
  pdf.setTitle(input.title);
  pdf.setSubject(input.subject);
  pdf.setProducer(input.producer);
  pdf.setCreator(input.producer);
  pdf.setCreationDate(input.createdAt);
  pdf.setModificationDate(input.createdAt);
  // Subset: only the glyphs the OCR text uses travel in the file.
  const font = await pdf.embedFont(withRowMetrics(input.font), { subset: true });
  const structure = new ParagraphStructure(pdf);
  const out = await PdfFileWriter.create(file);
  try {
    for await (const source of input.pages) {
      const scale = POINTS_PER_INCH / source.dpi;
      // Drawn on a page object of its own: the one the document keeps (below) holds no content stream.
      const page = PDFPage.create(pdf);
      page.setSize(source.width * scale, source.height * scale);
      const image =
        source.format === 'png' ? await embedBilevel(pdf, source.image) : await embedJpeg(pdf, source.image);
      drawTurned(page, image, scale, source.turnDeg);
      const fontKey = page.node.newFontDictionary(font.name, font.ref);
      structure.addPage(page, drawTextLayer(page, font, fontKey, source.lines, scale));
      await out.writeAndDrop(pdf.context, [image.ref, ...contentStreamsOf(page)]);
      pdf.addPage(PDFPage.of(page.node, page.ref, pdf));
    }
    structure.finish(input.language ?? 'uk');

    await pdf.attach(Buffer.from(JSON.stringify(input.manifest, null, 2)), 'manifest.json', {
      mimeType: 'application/json',
      description: 'Chain-of-custody manifest of this packet',
      creationDate: input.createdAt,
      modificationDate: input.createdAt,
    });
    const signature = input.signature && addSignaturePlaceholder(pdf, input.signature);
    // The font subset and the attachment are embedded only now, when every page has used its glyphs.
    await pdf.flush();
    const bytes = await out.finish(pdf.context);
    if (!signature) return { bytes };
    return {
      bytes,
      placeholder: signaturePlaceholderIn(pdf.context.lookup(signature)!, out.objectAt(signature)),
    };
  } finally {
    await out.close();
  }
}
