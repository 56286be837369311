import type { PacketStatus } from './status.js';

/** Why an upload cannot be a page: 400 empty, 413 too big, 415 not an image we take, 422 cannot or must not decode. */
export type ImageRejection = {
  status: 400 | 413 | 415 | 422;
  code:
    | 'empty_body'
    | 'unsupported_media_type'
    | 'media_type_mismatch'
    | 'corrupt_image'
    | 'image_too_large'
    | 'implausible_page'
    | 'multi_page_image';
  message: string;
};

/** Why a multi-page document cannot become pages; `page` names the first page that failed, when one did. */
export type DocumentRejection = {
  status: 400 | 413 | 415 | 422;
  code:
    | 'empty_body'
    | 'media_type_mismatch'
    | 'payload_too_large'
    | 'corrupt_document'
    | 'encrypted_document'
    | 'active_content'
    | 'too_many_pages'
    | 'page_too_large'
    | 'implausible_page'
    | 'decoded_too_large';
  message: string;
  page?: number;
};

/** What a service refuses, and why, in terms of the office: the API alone turns these into HTTP answers. */
export type Failure =
  | {
      code: 'not_found';
      what:
        | 'Packet'
        | 'Page'
        | 'Packet PDF'
        | 'Registrar'
        | 'Station'
        | 'Tracking code'
        | 'Thumbnail'
        | 'Checkpoint'
        | 'Protocol entry'
        | 'Epoch';
    }
  | { code: 'unknown_service'; services: string[] }
  | { code: 'service_exists'; slug: string }
  | { code: 'pages_changed'; pages: Array<{ n: number; sha256: string }> }
  | { code: 'not_submitted'; status: PacketStatus }
  | { code: 'bad_position'; at: number; highest: number }
  | { code: 'packet_not_open'; status: PacketStatus; action: 'change_pages' | 'submit' }
  | { code: 'rescan_only'; pages: number[] }
  | { code: 'pages_missing'; pages: number; missing: number[]; extra: number[] }
  | { code: 'image_rejected'; rejection: ImageRejection }
  | { code: 'document_rejected'; rejection: DocumentRejection }
  | { code: 'not_assigned'; status: string; action: 'decide' | 'recuse' }
  | { code: 'registrar_removed' }
  | { code: 'not_retryable'; status: PacketStatus }
  | { code: 'invalid_token' }
  | { code: 'resubmission_refused'; why: ResubmissionRefusal }
  | { code: 'reason_required' };

/** Why a packet cannot be linked as a resubmission of an earlier one. */
export type ResubmissionRefusal =
  | 'unknown_code'
  | 'not_decided'
  | 'not_rejected'
  | 'other_service'
  | 'already_resubmitted';

export type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (failure: Failure): { ok: false; failure: Failure } => ({ ok: false, failure });
