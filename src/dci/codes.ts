/** Status and reason codes exactly as the DCI Social Registry API v1.0.0 spells them. */

/** RequestStatus: received, pending, success, rejected. */
export type RequestStatus = 'rcvd' | 'pdng' | 'succ' | 'rjct';

/** MsgHeaderStatusReasonCode: why a whole message was rejected. */
export type HeaderReasonCode =
  | 'rjct.version.invalid'
  | 'rjct.message_id.duplicate'
  | 'rjct.message_ts.invalid'
  | 'rjct.action.invalid'
  | 'rjct.action.not_supported'
  | 'rjct.total_count.invalid'
  | 'rjct.total_count.limit_exceeded'
  | 'rjct.errors.too_many';

/** SearchStatusReasonCode: why one search_request item was rejected. */
export type SearchReasonCode =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.search_criteria.invalid'
  | 'rjct.filter.invalid'
  | 'rjct.sort.invalid'
  | 'rjct.pagination.invalid'
  | 'rjct.search.too_many_records_found';

/** SubscribeStatusReasonCode: why one subscribe_request item was rejected. */
export type SubscribeReasonCode =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.notify_types.invalid'
  | 'rjct.notify_details.invalid'
  | 'rjct.person_id.invalid'
  | 'rjct.event.already_subscribed';

/** UnSubscribeStatusReasonCode: why an unsubscribe request was rejected. */
export type UnsubscribeReasonCode =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.subscription_code.invalid'
  | 'rjct.requester.invalid'
  | 'rjct.event.already_unsubscribed';

/** Error.code: communication-layer errors, answered instead of a DCI message. */
export type ErrorCode =
  | 'err.request.bad'
  | 'err.request.unauthorized'
  | 'err.request.forbidden'
  | 'err.request.not_found'
  | 'err.request.timeout'
  | 'err.version.not_supported'
  | 'err.request.too_many_requests'
  | 'err.sender_id.invalid'
  | 'err.sender_uri.invalid'
  | 'err.receiver_id.invalid'
  | 'err.signature.missing'
  | 'err.signature.invalid'
  | 'err.encryption.invalid'
  | 'err.service.unavailable';

/** A message that cannot be answered with a DCI message: sent as an HttpErrorResponse with this HTTP status. */
export class DciError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A whole message rejected: answered with a signed header whose status is rjct. */
export class HeaderRejection extends Error {
  constructor(
    readonly code: HeaderReasonCode,
    message: string,
  ) {
    super(message);
  }
}

/** One search or subscribe item rejected; the other items of the batch are still answered. */
export class ItemRejection extends Error {
  constructor(
    readonly code: SearchReasonCode | SubscribeReasonCode,
    message: string,
  ) {
    super(message);
  }
}
