import { randomUUID } from 'node:crypto';
import { DciError, HeaderRejection, type HeaderReasonCode, type RequestStatus } from './codes.js';
import { describeErrors, validator } from './schemas.js';

/** MsgHeader_V1.0.0 as sent by a partner. */
export interface RequestHeader {
  version?: string;
  message_id: string;
  message_ts: string;
  action: string;
  sender_id: string;
  sender_uri?: string;
  receiver_id?: string;
  total_count: number;
  is_msg_encrypted?: boolean;
  meta?: Record<string, unknown>;
}

/** MsgCallbackHeader_V1.0.0 as we answer it. */
export interface ResponseHeader {
  version: '1.0.0';
  message_id: string;
  message_ts: string;
  action: string;
  status: RequestStatus;
  status_reason_code?: HeaderReasonCode;
  status_reason_message?: string;
  total_count: number;
  completed_count: number;
  sender_id: string;
  receiver_id: string;
  is_msg_encrypted: boolean;
}

/** A message as it is worked on: its `message` in clear (decrypted when it came encrypted). */
export interface Envelope {
  signature?: string;
  header: RequestHeader;
  message: Record<string, unknown>;
}

/** A message as received: when `header.is_msg_encrypted`, `message` is an EncryptedMessage object or a compact JWE. */
export interface ReceivedEnvelope extends Omit<Envelope, 'message'> {
  message: Record<string, unknown> | string;
}

/** Every action the Social Registry API defines; any other is `rjct.action.invalid`. */
const ACTIONS = new Set([
  'search',
  'on-search',
  'subscribe',
  'on-subscribe',
  'unsubscribe',
  'on-unsubscribe',
  'notify',
  'txn-status',
  'txn-on-status',
]);

/** Header fields whose schema errors are answered with their own reason code rather than err.request.bad. */
const FIELD_REASONS: Record<string, HeaderReasonCode> = {
  '/message_ts': 'rjct.message_ts.invalid',
  '/total_count': 'rjct.total_count.invalid',
  '/version': 'rjct.version.invalid',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The parts of `{signature, header, message}`. A body that is not an envelope at all, or whose header lacks what we
 * need to answer (message_id, sender_id), is an err.request.bad; a header with a bad timestamp, count or version is
 * parsed, and its rejection raised later by `checkHeader`.
 */
export function parseEnvelope(body: unknown): { envelope: ReceivedEnvelope; headerIssue?: HeaderRejection } {
  if (!isObject(body) || !isObject(body.header)) {
    throw new DciError(400, 'err.request.bad', 'the body must be a DCI envelope {signature, header, message}');
  }
  const encrypted = body.header.is_msg_encrypted === true;
  if (!isObject(body.message) && !(encrypted && typeof body.message === 'string')) {
    throw new DciError(400, 'err.request.bad', encrypted ? '/message must be an EncryptedMessage object or a compact JWE' : '/message must be an object');
  }
  if (body.signature !== undefined && typeof body.signature !== 'string') {
    throw new DciError(400, 'err.request.bad', '/signature must be a string');
  }
  const check = validator('MsgHeader_V1.0.0');
  let headerIssue: HeaderRejection | undefined;
  if (!check(body.header)) {
    const errors = check.errors ?? [];
    const reasons = new Set(errors.map((e) => FIELD_REASONS[e.instancePath]));
    const reason = reasons.size === 1 ? [...reasons][0] : undefined;
    if (!reason) throw new DciError(400, 'err.request.bad', describeErrors(errors, '/header'));
    headerIssue = new HeaderRejection(reason, describeErrors(errors, '/header'));
  }
  return { envelope: body as unknown as ReceivedEnvelope, headerIssue };
}

export interface HeaderLimits {
  action: string;
  /** Number of requests in the message, which total_count must equal. */
  count: number;
  maxBatch: number;
  clockSkewSeconds: number;
  now: Date;
}

/** Rules on the header that JSON Schema cannot express. */
export function checkHeader(header: RequestHeader, limits: HeaderLimits): void {
  if (header.version !== undefined && header.version !== '1.0.0') {
    throw new HeaderRejection('rjct.version.invalid', `version ${header.version} is not supported; use 1.0.0`);
  }
  if (!ACTIONS.has(header.action)) throw new HeaderRejection('rjct.action.invalid', `unknown action "${header.action}"`);
  if (header.action !== limits.action) {
    throw new HeaderRejection('rjct.action.not_supported', `this endpoint answers action "${limits.action}", not "${header.action}"`);
  }
  const skewMs = Math.abs(Date.parse(header.message_ts) - limits.now.getTime());
  if (!(skewMs <= limits.clockSkewSeconds * 1000)) {
    throw new HeaderRejection('rjct.message_ts.invalid', `message_ts is more than ${limits.clockSkewSeconds} s away from the receiver's clock`);
  }
  if (header.total_count > limits.maxBatch) {
    throw new HeaderRejection('rjct.total_count.limit_exceeded', `at most ${limits.maxBatch} requests per message`);
  }
  if (header.total_count !== limits.count) {
    throw new HeaderRejection('rjct.total_count.invalid', `total_count is ${header.total_count} but the message holds ${limits.count} requests`);
  }
}

/** The header of our answer to `request`. */
export function responseHeader(
  request: Pick<RequestHeader, 'sender_id' | 'total_count'>,
  fields: { action: string; status: RequestStatus; senderId: string; completed: number; reason?: HeaderRejection },
): ResponseHeader {
  return {
    version: '1.0.0',
    message_id: randomUUID(),
    message_ts: new Date().toISOString(),
    action: fields.action,
    status: fields.status,
    ...(fields.reason ? { status_reason_code: fields.reason.code, status_reason_message: fields.reason.message.slice(0, 999) } : {}),
    // Echoed when usable; a rejected non-integer count must not make our own header invalid.
    total_count: Number.isInteger(request.total_count) ? request.total_count : 0,
    completed_count: fields.completed,
    sender_id: fields.senderId,
    receiver_id: request.sender_id,
    is_msg_encrypted: false,
  };
}
