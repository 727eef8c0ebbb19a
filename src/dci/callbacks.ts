import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { dciTransactions } from '../db/schema/index.js';
import type { JobQueue, QueueDefinition, Worker } from '../jobs/queue.js';
import type { KeyStore } from '../security/keys.js';
import { outboundFetch } from '../security/outbound.js';
import { sealContent, type EncryptionKey } from './encryption.js';
import type { ResponseHeader } from './envelope.js';
import { partnerEncryptionKey } from './partners.js';
import { signEnvelope } from './signatures.js';

export interface CallbackSettings {
  retries: number;
  retryDelaySeconds: number;
  timeoutMs: number;
}

/** One outgoing message (on-search, on-subscribe, on-unsubscribe, notify, txn-on-status) to a partner. */
export interface Callback {
  /** The dci_transactions row whose delivery state this is; null for the answer to a replayed message. */
  transaction: string | null;
  url: string;
  header: ResponseHeader;
  message?: Record<string, unknown>;
}

export const callbackQueue = (settings: CallbackSettings): QueueDefinition => ({
  name: 'dci-callback',
  retryLimit: settings.retries,
  retryDelaySeconds: settings.retryDelaySeconds,
  expireInSeconds: Math.ceil(settings.timeoutMs / 1000) + 60,
});

/**
 * Enqueues a callback in the caller's transaction: it is sent if and only if the work it reports commits. The
 * transaction row shows it pending until it is delivered or given up.
 */
export async function enqueueCallback(tx: Db, jobs: JobQueue, callback: Callback & { transaction: string }): Promise<void> {
  await tx
    .update(dciTransactions)
    .set({ callbackUrl: callback.url, callbackStatus: 'pending' })
    .where(eq(dciTransactions.id, callback.transaction));
  await jobs.send('dci-callback', callback, { tx });
}

/**
 * Where an answer to a message goes: its sender_uri when given (which must lie under the partner's registered
 * callback base, so the hub never calls a host the partner did not register), else the spec's path under the base.
 * Undefined when there is neither.
 */
export function callbackUrl(base: string | null, senderUri: string | undefined, answerAction: string): string | undefined {
  if (senderUri) return base && withinBase(base, senderUri) ? senderUri : undefined;
  // The partner's endpoints are the spec's paths: /registry/on-search …, and /registry/txn/on-status.
  const path = answerAction === 'txn-on-status' ? 'txn/on-status' : answerAction;
  return base ? `${base.replace(/\/+$/, '')}/registry/${path}` : undefined;
}

function withinBase(base: string, uri: string): boolean {
  let target: URL;
  let root: URL;
  try {
    target = new URL(uri);
    root = new URL(base);
  } catch {
    return false;
  }
  const rootPath = root.pathname.endsWith('/') ? root.pathname : `${root.pathname}/`;
  return (
    target.origin === root.origin &&
    (target.pathname === root.pathname || target.pathname.startsWith(rootPath)) &&
    target.username === '' &&
    target.password === ''
  );
}

/** POSTs a callback body; answers why it failed, or undefined when the partner took it (2xx). */
async function post(url: string, body: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await outboundFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.status < 200 || res.status > 299 ? `the partner answered HTTP ${res.status}` : undefined;
  } catch (err) {
    const cause = (err as Error).cause;
    return `could not reach the partner: ${(err as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`;
  }
}

/**
 * The partner key a callback's message is encrypted to, when its exchange came encrypted (read from the transaction
 * row, and the key looked up at sending time, so a partner's key rotation is followed). A string says why it cannot be.
 */
async function recipientOf(db: Db, callback: Callback): Promise<EncryptionKey | string | undefined> {
  if (callback.transaction === null || callback.message === undefined) return undefined;
  const [row] = await db
    .select({ clientId: dciTransactions.clientId, encrypted: dciTransactions.messageEncrypted })
    .from(dciTransactions)
    .where(eq(dciTransactions.id, callback.transaction));
  if (!row?.encrypted) return undefined;
  return (await partnerEncryptionKey(db, row.clientId)) ?? 'the partner publishes no encryption key (use "enc") any more; its answer is not sent in clear';
}

/**
 * Encrypts when the exchange was encrypted, signs (with the hub key current at sending time) and POSTs each callback;
 * anything but a 2xx is retried with backoff, and the last failure marks the transaction's callback failed (the job
 * then waits in the dead letter queue).
 */
export function callbackWorker(db: Db, keys: KeyStore, settings: CallbackSettings): Worker<Callback> {
  const queue = callbackQueue(settings);
  const record = async (id: string | null, values: Partial<typeof dciTransactions.$inferInsert>) => {
    if (id === null) return;
    await db
      .update(dciTransactions)
      .set({ ...values, callbackAttempts: sql`${dciTransactions.callbackAttempts} + 1`, callbackAt: new Date() })
      .where(eq(dciTransactions.id, id));
  };
  return {
    queue,
    handler: async (callback, job) => {
      const recipient = await recipientOf(db, callback);
      let failure: string | undefined;
      if (typeof recipient === 'string') failure = recipient;
      else {
        const plain = callback.message === undefined ? { header: callback.header } : { header: callback.header, message: callback.message };
        const content = await sealContent(plain, recipient);
        failure = await post(callback.url, JSON.stringify({ signature: await signEnvelope(await keys.signingKey(), content), ...content }), settings.timeoutMs);
      }
      if (failure === undefined) {
        await record(callback.transaction, { callbackStatus: 'delivered', callbackError: null, callbackBody: null });
        return;
      }
      const last = job.retryCount >= queue.retryLimit;
      // Given up: the callback is kept with the transaction, so that it can be sent again (src/dci/deliveries.ts).
      await record(callback.transaction, last ? { callbackStatus: 'failed', callbackError: failure, callbackBody: { ...callback } } : { callbackStatus: 'pending', callbackError: failure });
      throw new Error(failure);
    },
  };
}
