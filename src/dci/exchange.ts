import { randomUUID } from 'node:crypto';
import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { appendAudit } from '../audit/log.js';
import { eq } from 'drizzle-orm';
import { dciTransactions } from '../db/schema/index.js';
import type { JobQueue, Worker } from '../jobs/queue.js';
import type { Actor } from '../security/actor.js';
import type { KeyStore } from '../security/keys.js';
import { callbackUrl, enqueueCallback, type Callback } from './callbacks.js';
import { withStatementLimits } from '../db/statement-limits.js';
import { DciError, HeaderRejection } from './codes.js';
import { httpErrorBody } from './http-errors.js';
import { decryptMessage, sealContent, type EncryptionKey } from './encryption.js';
import { checkHeader, parseEnvelope, responseHeader, type Envelope, type ReceivedEnvelope, type RequestHeader, type ResponseHeader } from './envelope.js';
import { partnerFor, type Partner } from './partners.js';
import { signEnvelope, verifyEnvelopeSignature } from './signatures.js';
import { completeMessage, recordMessage, type TransactionRow } from './transactions.js';

export interface DciContext {
  db: Db;
  keys: KeyStore;
  config: DciConfig;
  jobs: JobQueue;
}

/** What a route sends back: a DCI envelope or Ack (200), or an HttpErrorResponse. */
export interface DciAnswer {
  httpStatus: number;
  body: Record<string, unknown>;
}

export interface ProcessOutcome {
  message: Record<string, unknown>;
  completed: number;
  recordCount: number;
  consent?: TransactionRow['consent'];
  audit: unknown;
}

/** The part of an exchange specific to one endpoint. */
export interface ExchangeHandler<M> {
  /** The provider the endpoint belongs to (sr, crvs): recorded with the transaction. */
  registry: string;
  /** `header.action` the endpoint accepts, and the one it answers with. */
  action: string;
  answerAction: string;
  /** Number of requests in the message (checked against header.total_count); throws DciError when malformed. */
  count(message: Record<string, unknown>): number;
  /** Does the work in the exchange's database transaction. */
  process(tx: Db, exchange: { actor: Actor; partner: Partner; header: RequestHeader; message: M; row: TransactionRow }): Promise<ProcessOutcome>;
}

const errorBody = (err: DciError) => httpErrorBody(err.code, err.message).error;

const errorAnswer = (err: DciError): DciAnswer => ({ httpStatus: err.httpStatus, body: httpErrorBody(err.code, err.message) });

/** An asynchronous endpoint's Ack; an ERR Ack also carries the HttpErrorResponse list, for clients that read that. */
const ack = (correlationId: string, err?: DciError): DciAnswer => ({
  httpStatus: err ? err.httpStatus : 200,
  body: {
    message: {
      ack_status: err ? 'ERR' : 'ACK',
      timestamp: new Date().toISOString(),
      correlation_id: correlationId,
      ...(err ? { error: errorBody(err) } : {}),
    },
    ...(err ? { errors: [errorBody(err)] } : {}),
  },
});

/** Our answer: its message encrypted to `to` when given, then signed over what is sent. */
async function signed(ctx: DciContext, header: ResponseHeader, message?: Record<string, unknown>, to?: EncryptionKey): Promise<DciAnswer> {
  const content = await sealContent(message === undefined ? { header } : { header, message }, to);
  return { httpStatus: 200, body: { signature: await signEnvelope(await ctx.keys.signingKey(), content), ...content } };
}

/**
 * Checks the signature as the partner's policy says: `off` never, `optional` when present, `required` always. It
 * covers the envelope as sent, so an encrypted message is verified before it is decrypted.
 */
async function checkSignature(ctx: DciContext, partner: Partner, envelope: ReceivedEnvelope): Promise<void> {
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

/** A message that passed the checks before any work: who sent it and what it holds. */
interface Admitted {
  envelope: Envelope;
  partner: Partner;
  /** Where the answer is encrypted to: set when the partner sent its message encrypted. */
  encryptTo?: EncryptionKey;
  /** Set when the header breaks a rule: answered with a rjct header rather than worked on. */
  rejection?: HeaderRejection;
}

/**
 * An encrypted message in clear, and the partner key its answer goes to: a partner that sends encrypted is answered
 * encrypted, never in clear, so one without an encryption key is refused before any work.
 */
async function openEncrypted(ctx: DciContext, partner: Partner, received: ReceivedEnvelope): Promise<{ envelope: Envelope; encryptTo: EncryptionKey }> {
  const message = await decryptMessage(ctx.keys, received.message);
  const encryptTo = await partner.encryptionKey();
  if (!encryptTo) {
    throw new DciError(
      400,
      'err.encryption.invalid',
      'no encryption key (a JWK with use "enc") is registered for this partner in jwks or at its jwks_url, so the answer cannot be encrypted',
    );
  }
  return { envelope: { ...received, message }, encryptTo };
}

/**
 * The checks every DCI message goes through before any work: envelope, partner and sender_id, signature, decryption,
 * header rules. A DciError means the message cannot be answered as DCI (HttpErrorResponse); it is audited here.
 */
async function admit<M>(ctx: DciContext, actor: Actor, body: unknown, handler: ExchangeHandler<M>, asynchronous: boolean): Promise<Admitted> {
  try {
    const parsed = parseEnvelope(body);
    const partner = await partnerFor(ctx.db, actor.id, parsed.envelope.header.sender_id);
    await checkSignature(ctx, partner, parsed.envelope);
    let envelope: Envelope;
    let encryptTo: EncryptionKey | undefined;
    if (parsed.envelope.header.is_msg_encrypted) ({ envelope, encryptTo } = await openEncrypted(ctx, partner, parsed.envelope));
    else envelope = parsed.envelope as Envelope;
    if (envelope.header.receiver_id && envelope.header.receiver_id !== ctx.config.senderId) {
      throw new DciError(400, 'err.receiver_id.invalid', `this registry is "${ctx.config.senderId}", not "${envelope.header.receiver_id}"`);
    }
    if (asynchronous && !callbackUrl(partner.callbackUrl, envelope.header.sender_uri, handler.answerAction)) {
      throw new DciError(
        400,
        'err.sender_uri.invalid',
        partner.callbackUrl
          ? `sender_uri must lie under the callback base registered for this partner (${partner.callbackUrl})`
          : 'no callback base is registered for this partner, so asynchronous answers cannot be delivered; use the sync endpoint',
      );
    }
    try {
      if (parsed.headerIssue) throw parsed.headerIssue;
      const count = handler.count(envelope.message);
      checkHeader(envelope.header, { action: handler.action, count, maxBatch: ctx.config.maxBatch, clockSkewSeconds: ctx.config.clockSkewSeconds, now: new Date() });
    } catch (err) {
      if (err instanceof HeaderRejection) return { envelope, partner, encryptTo, rejection: err };
      throw err;
    }
    return { envelope, partner, encryptTo };
  } catch (err) {
    if (err instanceof DciError) {
      // Refusals are audited too: a stream of bad signatures from one client is worth seeing.
      const header = (body as { header?: { sender_id?: unknown; message_id?: unknown } } | null)?.header;
      await ctx.db.transaction((tx) =>
        appendAudit(tx, actor, {
          action: `dci.${handler.action}.error`,
          entityType: 'dci_message',
          entityId: `${String(header?.sender_id ?? '-')}/${String(header?.message_id ?? '-')}`.slice(0, 300),
          after: { code: err.code, message: err.message },
        }),
      );
    }
    throw err;
  }
}

async function auditRejection(ctx: DciContext, actor: Actor, action: string, header: RequestHeader, reason: HeaderRejection) {
  await ctx.db.transaction((tx) =>
    appendAudit(tx, actor, {
      action: `dci.${action}.reject`,
      entityType: 'dci_message',
      entityId: `${header.sender_id}/${header.message_id}`,
      after: { reason: reason.code, message: reason.message },
    }),
  );
}

const duplicate = (header: RequestHeader) =>
  new HeaderRejection('rjct.message_id.duplicate', `message_id ${header.message_id} was already received from ${header.sender_id}`);

/** Records the message; undefined when it is a replay of one already received. */
const record = (tx: Db, partner: Partner, header: RequestHeader, message: Record<string, unknown>, handler: { registry: string; action: string }) =>
  recordMessage(tx, {
    messageEncrypted: header.is_msg_encrypted === true,
    clientId: partner.clientId,
    senderId: partner.senderId,
    messageId: header.message_id,
    transactionId: typeof message.transaction_id === 'string' ? message.transaction_id : null,
    action: handler.action,
    registry: handler.registry,
  });

/** The endpoint's work, the transaction record and the audit entry, in the caller's database transaction. */
export async function perform<M>(
  tx: Db,
  handler: ExchangeHandler<M>,
  work: { actor: Actor; partner: Partner; header: RequestHeader; message: M; row: TransactionRow },
): Promise<ProcessOutcome> {
  const done = await handler.process(tx, work);
  await completeMessage(tx, work.row.id, { status: 'succ', response: done.message, recordCount: done.recordCount, consent: done.consent ?? null });
  await appendAudit(tx, work.actor, {
    action: `dci.${handler.action}`,
    entityType: 'dci_transaction',
    entityId: work.row.correlationId,
    after: {
      sender_id: work.partner.senderId,
      message_id: work.header.message_id,
      transaction_id: work.row.transactionId,
      records: done.recordCount,
      detail: done.audit,
    },
  });
  return done;
}

/** A synchronous exchange: checks, then the work in one database transaction, and our signed answer. */
export async function exchange<M>(ctx: DciContext, actor: Actor, body: unknown, handler: ExchangeHandler<M>): Promise<DciAnswer> {
  let admitted: Admitted;
  try {
    admitted = await admit(ctx, actor, body, handler, false);
  } catch (err) {
    if (err instanceof DciError) return errorAnswer(err);
    throw err;
  }
  const { envelope, partner, encryptTo } = admitted;
  const { header } = envelope;
  const rejectWith = async (reason: HeaderRejection) => {
    await auditRejection(ctx, actor, handler.action, header, reason);
    return signed(ctx, responseHeader(header, { action: handler.answerAction, status: 'rjct', senderId: ctx.config.senderId, completed: 0, reason }));
  };
  if (admitted.rejection) return rejectWith(admitted.rejection);

  const outcome = await ctx.db.transaction(async (tx) => {
    const row = await record(tx, partner, header, envelope.message, handler);
    return row ? perform(tx, handler, { actor, partner, header, message: envelope.message as M, row }) : undefined;
  });
  if (!outcome) return rejectWith(duplicate(header));
  const answerHeader = responseHeader(header, { action: handler.answerAction, status: 'succ', senderId: ctx.config.senderId, completed: outcome.completed });
  return signed(ctx, answerHeader, outcome.message, encryptTo);
}

/** What the dci-process worker needs to do an accepted asynchronous request later. */
export interface AcceptedRequest {
  transaction: string;
  /** Absent in jobs enqueued before providers other than the Social Registry existed. */
  registry?: string;
  action: string;
  actor: Actor;
  clientId: string;
  header: RequestHeader;
  message: Record<string, unknown>;
  url: string;
}

/**
 * An asynchronous exchange: the same checks, then the message is recorded and its work enqueued in one database
 * transaction and acknowledged at once; the answer reaches the partner later as a signed callback. A header that
 * breaks a rule is acknowledged too, and its rjct header delivered the same way.
 */
export async function acceptAsync<M>(ctx: DciContext, actor: Actor, body: unknown, handler: ExchangeHandler<M>): Promise<DciAnswer> {
  let admitted: Admitted;
  try {
    admitted = await admit(ctx, actor, body, handler, true);
  } catch (err) {
    if (err instanceof DciError) return ack(randomUUID(), err);
    throw err;
  }
  const { envelope, partner } = admitted;
  const { header } = envelope;
  const url = callbackUrl(partner.callbackUrl, header.sender_uri, handler.answerAction)!;
  const rejected = async (reason: HeaderRejection, tx: Db, row: TransactionRow | undefined) => {
    const rjct = responseHeader(header, { action: handler.answerAction, status: 'rjct', senderId: ctx.config.senderId, completed: 0, reason });
    if (row) {
      await completeMessage(tx, row.id, { status: 'rjct', response: null, recordCount: 0, consent: null });
      await enqueueCallback(tx, ctx.jobs, { transaction: row.id, url, header: rjct });
    } else {
      const callback: Callback = { transaction: null, url, header: rjct };
      await ctx.jobs.send('dci-callback', callback, { tx });
    }
    return row?.correlationId ?? randomUUID();
  };
  let rejection = admitted.rejection;
  const correlationId = await ctx.db.transaction(async (tx) => {
    const row = await record(tx, partner, header, envelope.message, handler);
    if (!row) rejection = duplicate(header);
    if (rejection) return rejected(rejection, tx, row);
    const accepted: AcceptedRequest = { transaction: row!.id, registry: handler.registry, action: handler.action, actor, clientId: partner.clientId, header, message: envelope.message, url };
    await ctx.jobs.send('dci-process', accepted, { tx });
    return row!.correlationId;
  });
  if (rejection) await auditRejection(ctx, actor, handler.action, header, rejection);
  return ack(correlationId);
}

export const PROCESS_QUEUE = { name: 'dci-process', retryLimit: 5, retryDelaySeconds: 5, expireInSeconds: 300 };

/**
 * Works accepted asynchronous requests: the endpoint's work, the record, the audit entry and the callback carrying
 * the answer, in one database transaction — so a crash before the commit retries the whole, and one after it never
 * repeats the work (the row is no longer pending).
 */
export function processWorker(ctx: DciContext, handlers: readonly ExchangeHandler<never>[], statementTimeoutMs: number): Worker<AcceptedRequest> {
  const byAction = new Map(handlers.map((h) => [`${h.registry}:${h.action}`, h]));
  return {
    queue: PROCESS_QUEUE,
    // An asynchronous search is the same partner's query as a synchronous one: the same statement timeout.
    handler: (request) => withStatementLimits({ timeoutMs: statementTimeoutMs }, async () => {
      const handler = byAction.get(`${request.registry ?? 'sr'}:${request.action}`);
      if (!handler) throw new Error(`no DCI handler for action ${request.action} of registry ${request.registry}`);
      let partner: Partner | undefined;
      try {
        partner = await partnerFor(ctx.db, request.clientId, request.header.sender_id);
      } catch (err) {
        if (!(err instanceof DciError)) throw err;
      }
      await ctx.db.transaction(async (tx) => {
        const [row] = await tx.select().from(dciTransactions).where(eq(dciTransactions.id, request.transaction)).for('update');
        if (!row || row.status !== 'pdng') return;
        if (!partner) {
          // The partner was disabled after we acknowledged: nothing goes out to it any more.
          await completeMessage(tx, row.id, { status: 'rjct', response: null, recordCount: 0, consent: null });
          return;
        }
        const done = await perform(tx, handler, { actor: request.actor, partner, header: request.header, message: request.message as never, row });
        const header = responseHeader(request.header, { action: handler.answerAction, status: 'succ', senderId: ctx.config.senderId, completed: done.completed });
        await enqueueCallback(tx, ctx.jobs, { transaction: row.id, url: request.url, header, message: done.message });
      });
    }),
  };
}
