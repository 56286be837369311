import { expect } from 'vitest';
import type { VerificationResult } from '../../src/pipeline/pades.js';

/**
 * A PAdES baseline B-B signature as the service makes it: valid, ETSI.CAdES.detached over the whole file, with
 * exactly the signed attributes content-type, message-digest and signing-certificate-v2.
 */
export function expectPadesBaselineB(result: VerificationResult): void {
  expect(result).toMatchObject({ valid: true, subFilter: 'ETSI.CAdES.detached', coversWholeFile: true });
  expect(result.valid && result.signedAttributes).toEqual([
    '1.2.840.113549.1.9.3',
    '1.2.840.113549.1.9.4',
    '1.2.840.113549.1.9.16.2.47',
  ]);
}
