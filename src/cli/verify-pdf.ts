/**
 * Verifies the PAdES signature of packet PDFs without external tools.
 * Usage: npm run verify-pdf -- <file.pdf> [...]   (in production: node dist/cli/verify-pdf.js <file.pdf>)
 * Prints one JSON line per file; exits 1 when any file does not verify.
 */
import { readFile } from 'node:fs/promises';
import { verifyPdfSignature } from '../pipeline/pades.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: verify-pdf <file.pdf> [...]');
  process.exit(2);
}
let allValid = true;
for (const file of files) {
  const result = await verifyPdfSignature(await readFile(file));
  allValid &&= result.valid;
  process.stdout.write(`${JSON.stringify({ file, ...result })}\n`);
}
process.exit(allValid ? 0 : 1);
