import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { appendAudit } from '../audit/log.js';
import type { Actor } from '../security/actor.js';
import type { KeyStore } from '../security/keys.js';
import { DciError, HeaderRejection } from './codes.js';
import { checkHeader, parseEnvelope, responseHeader, type Envelope, type RequestHeader } from './envelope.js';
import { partnerFor, type Partner } from './partners.js';
import { signEnvelope, verifyEnvelopeSignature } from './signatures.js';
import { completeMessage, recordMessage, type TransactionRow } from './transactions.js';

export interface DciContext {
  db: Db;
  keys: KeyStore;
  config: DciConfig;
}

/** What a route sends back: a DCI envelope (200) or an HttpErrorResponse. */
export interface DciAnswer {
  httpStatus: number;
  body: Record<string, unknown>;
}

/** The part of an exchange specific to one endpoint. */
export interface ExchangeHandler<M> {
  /** `header.action` the endpoint accepts, and the one it answers with. */
  action: string;
  answerAction: string;
  /** Number of requests in the message (checked against header.total_count); throws DciError when malformed. */
  count(message: Record<string, unknown>): number;
  /** Does the work in the exchange's database transaction. */
  process(
    tx: Db,
    exchange: { actor: Actor; partner: Partner; header: RequestHeader; message: M; row: TransactionRow },
  ): Promise<{ message: Record<string, unknown>; completed: number; recordCount: number; consent?: TransactionRow['consent']; audit: unknown }>;
}

/**
 * The spec's HttpErrorResponse `{errors: [{code, message}]}`, plus the same as one `error` object (the shape of the
 * Ack's Error): DCI clients built on either look for one of the two.
 */
const errorAnswer = (err: DciError): DciAnswer => ({
  httpStatus: err.httpStatus,
  body: { errors: [{ code: err.code, message: err.message }], error: { code: err.code, message: err.message } },
});

async function signed(ctx: DciContext, header: Record<string, unknown>, message?: Record<string, unknown>): Promise<DciAnswer> {
  const content = message === undefined ? { header } : { header, message };
  return { httpStatus: 200, body: { signature: await signEnvelope(await ctx.keys.signingKey(), content), ...content } };
}

/** Checks the signature as the partner's policy says: `off` never, `optional` when present, `required` always. */
async function checkSignature(ctx: DciContext, partner: Partner, envelope: Envelope): Promise<void> {
  if (partner.policy === 'off') return;
  if (envelope.signature === undefined || envelope.signature === '') {
    if (partner.policy === 'required') throw new DciError(401, 'err.signature.missing', 'this partner must sign its messages');
    return;
  }
  await verifyEnvelopeSignature(envelope.signature, { header: envelope.header, message: envelope.message }, {
    senderId: partner.senderId,
    resolve: partner.resolveKey,
    now: Date.now(),
    skewMs: ctx.config.clockSkewSeconds * 1000,
  });
}

/**
 * One DCI request/answer: envelope, partner and sender_id, signature, header rules, replay protection, then the
 * endpoint's work, the transaction record and the audit entry in one database transaction, and our signed answer.
 */
export async function exchange<M>(ctx: DciContext, actor: Actor, body: unknown, handler: ExchangeHandler<M>): Promise<DciAnswer> {
  /** Refusals are audited too: a stream of bad signatures from one client is worth seeing. */
  const refuse = async (err: DciError) => {
    const header = (body as { header?: { sender_id?: unknown; message_id?: unknown } } | null)?.header;
    await ctx.db.transaction((tx) =>
      appendAudit(tx, actor, {
        action: `dci.${handler.action}.error`,
        entityType: 'dci_message',
        entityId: `${String(header?.sender_id ?? '-')}/${String(header?.message_id ?? '-')}`.slice(0, 300),
        after: { code: err.code, message: err.message },
      }),
    );
    return errorAnswer(err);
  };
  let envelope: Envelope;
  let partner: Partner;
  let headerIssue: HeaderRejection | undefined;
  try {
    ({ envelope, headerIssue } = parseEnvelope(body));
    partner = await partnerFor(ctx.db, actor.id, envelope.header.sender_id);
    await checkSignature(ctx, partner, envelope);
    if (envelope.header.is_msg_encrypted) {
      throw new DciError(400, 'err.encryption.invalid', 'encrypted messages are not accepted yet; send is_msg_encrypted false');
    }
  } catch (err) {
    if (err instanceof DciError) return refuse(err);
    throw err;
  }
  const { header } = envelope;
  const reject = async (reason: HeaderRejection) => {
    await ctx.db.transaction((tx) =>
      appendAudit(tx, actor, {
        action: `dci.${handler.action}.reject`,
        entityType: 'dci_message',
        entityId: `${header.sender_id}/${header.message_id}`,
        after: { reason: reason.code, message: reason.message },
      }),
    );
    return signed(ctx, { ...responseHeader(header, { action: handler.answerAction, status: 'rjct', senderId: ctx.config.senderId, completed: 0, reason }) });
  };

  let count: number;
  try {
    if (headerIssue) throw headerIssue;
    count = handler.count(envelope.message);
    checkHeader(header, { action: handler.action, count, maxBatch: ctx.config.maxBatch, clockSkewSeconds: ctx.config.clockSkewSeconds, now: new Date() });
  } catch (err) {
    if (err instanceof HeaderRejection) return reject(err);
    if (err instanceof DciError) return refuse(err);
    throw err;
  }

  const outcome = await ctx.db.transaction(async (tx) => {
    const transactionId = typeof envelope.message.transaction_id === 'string' ? envelope.message.transaction_id : null;
    const row = await recordMessage(tx, {
      clientId: partner.clientId,
      senderId: partner.senderId,
      messageId: header.message_id,
      transactionId,
      action: handler.action,
    });
    if (!row) return undefined;
    const done = await handler.process(tx, { actor, partner, header, message: envelope.message as M, row });
    await completeMessage(tx, row.id, { status: 'succ', response: done.message, recordCount: done.recordCount, consent: done.consent ?? null });
    await appendAudit(tx, actor, {
      action: `dci.${handler.action}`,
      entityType: 'dci_transaction',
      entityId: row.correlationId,
      after: { sender_id: partner.senderId, message_id: header.message_id, transaction_id: transactionId, records: done.recordCount, detail: done.audit },
    });
    return done;
  });
  if (!outcome) {
    return reject(new HeaderRejection('rjct.message_id.duplicate', `message_id ${header.message_id} was already received from ${header.sender_id}`));
  }
  const answerHeader = responseHeader(header, { action: handler.answerAction, status: 'succ', senderId: ctx.config.senderId, completed: outcome.completed });
  return signed(ctx, { ...answerHeader }, outcome.message);
}
