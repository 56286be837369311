import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The text of one PDF page as poppler's pdftotext reads it (what search and copy in a viewer give). */
export async function pdfPageText(file: string, page: number): Promise<string> {
  const { stdout } = await run('pdftotext', [
    '-f',
    String(page),
    '-l',
    String(page),
    '-enc',
    'UTF-8',
    file,
    '-',
  ]);
  return stdout;
}
