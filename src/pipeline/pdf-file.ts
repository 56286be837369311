import { type FileHandle, open } from 'node:fs/promises';
import {
  type PDFContext,
  PDFCrossRefSection,
  PDFHeader,
  type PDFObject,
  type PDFRef,
  PDFStream,
  PDFTrailer,
  PDFTrailerDict,
} from 'pdf-lib';
import { writeAt } from './file-bytes.js';

/**
 * A PDF written to a file object by object while pdf-lib builds it, laid out as pdf-lib's own PDFWriter does (header,
 * `n g obj … endobj`, a classic xref table, trailer). Objects written early are dropped from the document: their
 * references stay valid, so a packet's page images and content streams leave memory as soon as each page is done.
 */
export class PdfFileWriter {
  /** Where each written object's `n g obj` line begins. */
  private readonly offsets = new Map<PDFRef, number>();
  private position = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async create(file: string): Promise<PdfFileWriter> {
    const writer = new PdfFileWriter(await open(file, 'w'));
    const header = PDFHeader.forVersion(1, 7);
    const bytes = new Uint8Array(header.sizeInBytes() + 2).fill(0x0a);
    header.copyBytesInto(bytes, 0);
    try {
      await writer.append(bytes);
    } catch (error) {
      await writer.close();
      throw error;
    }
    return writer;
  }

  /** Writes these objects and removes them from the document; only their references remain. */
  async writeAndDrop(context: PDFContext, refs: PDFRef[]): Promise<void> {
    for (const ref of refs) {
      await this.writeObject(ref, context.lookup(ref)!);
      context.delete(ref);
    }
  }

  /** Writes every object still in the document, then the cross-reference table and the trailer. Returns the size. */
  async finish(context: PDFContext): Promise<number> {
    for (const [ref, object] of context.enumerateIndirectObjects()) await this.writeObject(ref, object);
    const xref = PDFCrossRefSection.create();
    // The table lists objects by ascending number, whatever order they were written in.
    const written = [...this.offsets].sort(([a], [b]) => a.objectNumber - b.objectNumber);
    for (const [ref, offset] of written) xref.addEntry(ref, offset);
    const trailerDict = PDFTrailerDict.of(
      context.obj({
        Size: context.largestObjectNumber + 1,
        Root: context.trailerInfo.Root,
        Encrypt: context.trailerInfo.Encrypt,
        Info: context.trailerInfo.Info,
        ID: context.trailerInfo.ID,
      }),
    );
    const trailer = PDFTrailer.forLastCrossRefSectionOffset(this.position);
    const tail = new Uint8Array(
      xref.sizeInBytes() + 1 + trailerDict.sizeInBytes() + 2 + trailer.sizeInBytes(),
    );
    let at = xref.copyBytesInto(tail, 0);
    tail[at++] = 0x0a;
    at += trailerDict.copyBytesInto(tail, at);
    tail[at++] = 0x0a;
    tail[at++] = 0x0a;
    trailer.copyBytesInto(tail, at);
    await this.append(tail);
    return this.position;
  }

  /** Where the bytes of a written object begin (after its `n g obj` line). */
  objectAt(ref: PDFRef): number {
    const offset = this.offsets.get(ref);
    if (offset === undefined) throw new Error(`object ${ref} has not been written`);
    return offset + objectLine(ref).length;
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async writeObject(ref: PDFRef, object: PDFObject): Promise<void> {
    this.offsets.set(ref, this.position);
    const line = objectLine(ref);
    if (!(object instanceof PDFStream)) return this.append(serialized(line, object, '\nendobj\n\n'));
    // A stream's contents (a page image) go to the file as they are, not copied into the object's bytes first.
    object.updateDict();
    await this.append(serialized(line, object.dict, '\nstream\n'));
    await this.append(object.getContents());
    await this.append(Buffer.from('\nendstream\nendobj\n\n', 'latin1'));
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await writeAt(this.handle, bytes, this.position);
    this.position += bytes.length;
  }
}

const objectLine = (ref: PDFRef) => `${ref.objectNumber} ${ref.generationNumber} obj\n`;

/** `object`'s bytes as pdf-lib writes them, between `before` and `after`. */
function serialized(before: string, object: PDFObject, after: string): Buffer {
  const bytes = Buffer.allocUnsafe(before.length + object.sizeInBytes() + after.length);
  bytes.write(before, 0, 'latin1');
  const length = object.copyBytesInto(bytes, before.length);
  bytes.write(after, before.length + length, 'latin1');
  return bytes;
}
