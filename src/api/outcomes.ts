import type { Failure, Outcome, ResubmissionRefusal } from '../domain/outcome.js';
import { AppError } from './http-error.js';

const RESUBMISSION_REFUSALS = {
  unknown_code: 'No packet has the earlier tracking code',
  not_decided: 'The earlier packet is not decided yet; only a rejected packet can be resubmitted',
  not_rejected: 'The earlier packet was approved; only a rejected packet can be resubmitted',
  other_service: 'The earlier packet is for another service',
  already_resubmitted: 'The earlier packet was resubmitted already; link the latest resubmission instead',
} as const satisfies Record<ResubmissionRefusal, string>;

/** The one place where a service's refusal becomes an HTTP status, an error code and a message. */
export function httpErrorOf(failure: Failure): AppError {
  switch (failure.code) {
    case 'not_found':
      return new AppError(404, 'not_found', `${failure.what} not found`);
    case 'resubmission_refused':
      return new AppError(
        failure.why === 'unknown_code' || failure.why === 'other_service' || failure.why === 'not_rejected'
          ? 422
          : 409,
        'resubmission_refused',
        RESUBMISSION_REFUSALS[failure.why],
        { why: failure.why },
      );
    case 'reason_required':
      return new AppError(
        422,
        'reason_required',
        'Say why the registrar is taken out of the pool (reason, at least 3 characters)',
      );
    case 'packet_not_open':
      return new AppError(
        409,
        'packet_not_open',
        failure.action === 'submit'
          ? `Packet is already ${failure.status}`
          : `Packet is ${failure.status}; pages can change only while it is open`,
        { status: failure.status },
      );
    case 'rescan_only':
      return new AppError(
        409,
        'rescan_only',
        `Only pages ${failure.pages.join(', ')} may be rescanned in this packet`,
        {
          pages: failure.pages,
        },
      );
    case 'pages_missing': {
      const parts = [
        failure.missing.length > 0 ? `missing pages ${failure.missing.join(', ')}` : '',
        failure.extra.length > 0 ? `pages beyond ${failure.pages}: ${failure.extra.join(', ')}` : '',
      ].filter(Boolean);
      return new AppError(409, 'pages_missing', `Cannot submit ${failure.pages} pages: ${parts.join('; ')}`, {
        missing: failure.missing,
        extra: failure.extra,
      });
    }
    case 'image_rejected':
      return new AppError(failure.rejection.status, failure.rejection.code, failure.rejection.message);
    case 'document_rejected': {
      const { status, code, message, page } = failure.rejection;
      return new AppError(status, code, message, page === undefined ? {} : { page });
    }
    case 'not_assigned':
      return new AppError(
        409,
        'not_assigned',
        failure.action === 'decide'
          ? `Packet is ${failure.status}; it cannot be decided now`
          : `Packet is ${failure.status}; recusal is no longer possible`,
        { status: failure.status },
      );
    case 'unknown_service':
      return new AppError(
        422,
        'unknown_service',
        `Not in the office's service catalogue: ${failure.services.join(', ')}`,
        { services: failure.services },
      );
    case 'service_exists':
      return new AppError(409, 'service_exists', `Service ${failure.slug} exists already`);
    case 'pages_changed':
      return new AppError(
        409,
        'pages_changed',
        'The packet’s pages changed meanwhile; send the order of the pages it has now',
        { pages: failure.pages },
      );
    case 'not_submitted':
      return new AppError(
        409,
        'not_submitted',
        `Packet is ${failure.status}; a receipt exists once it is submitted`,
        {
          status: failure.status,
        },
      );
    case 'bad_position':
      return new AppError(
        409,
        'bad_position',
        `Cannot insert at page ${failure.at}: the packet's pages end at ${failure.highest}`,
        { highest: failure.highest },
      );
    case 'registrar_removed':
      return new AppError(403, 'forbidden', 'This registrar was removed');
    case 'invalid_token':
      return new AppError(401, 'unauthorized', 'The token is not valid');
    case 'not_retryable':
      return new AppError(
        409,
        'not_retryable',
        `Packet is ${failure.status}; only a failed packet can be retried`,
        {
          status: failure.status,
        },
      );
  }
}

/** The value of a successful outcome; a refusal is thrown as its HTTP error for the error handler to send. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw httpErrorOf(outcome.failure);
  return outcome.value;
}
