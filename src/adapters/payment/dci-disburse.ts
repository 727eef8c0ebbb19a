import { randomUUID } from 'node:crypto';
import type { DciDisburseConfig } from '../../config.js';
import type { Db } from '../../db/client.js';
import { isUuid } from '../../db/keyset.js';
import { callbackAnswer, DciClientError, DciPeer, type CallbackAnswer, type Envelope } from '../../dci/client.js';
import { DciError } from '../../dci/codes.js';
import { describeErrors, validator } from '../../dci/schemas.js';
import { HubError } from '../../errors.js';
import type { JobQueue, QueueDefinition, Worker } from '../../jobs/queue.js';
import { batchDelivered, batchUndelivered } from '../../payments/delivery.js';
import type { BatchReceipt, GatewayResult, OutgoingBatch, PaymentGateway, SendContext, SettlementReport } from '../../payments/gateway.js';
import { reconcile } from '../../payments/reconciliation.js';
import type { ReconciliationResult } from '../../payments/schemas.js';
import { systemActor } from '../../security/actor.js';
import type { KeyStore } from '../../security/keys.js';
import { describeSource, payeeAddresses } from './financial-address.js';

type Json = Record<string, unknown>;

/** One item of a DisburseRequest. */
interface Disbursement {
  reference_id: string;
  payer_fa: string;
  payee_fa: string;
  amount: string;
  currency_code?: string;
  payer_name?: string;
  payee_name?: string;
  purpose?: string;
}

/** A batch waiting to be delivered: the whole DisburseRequest, so every attempt sends the same transaction. */
interface DisburseJob {
  transaction_id: string;
  disbursements: Disbursement[];
}

export interface DciDisburseDeps {
  db: Db;
  keys: KeyStore;
  jobs: JobQueue;
  /** Our sender_id. */
  senderId: string;
  publicUrl: string;
}

/** Each dci-disburse gateway has its own queue, with its own retries and timeout. */
export const disburseQueue = (name: string, config: Pick<DciDisburseConfig, 'retries' | 'retry_delay' | 'timeout_ms'>): QueueDefinition => ({
  name: `payment-disburse.${name}`,
  retryLimit: config.retries,
  retryDelaySeconds: config.retry_delay,
  expireInSeconds: Math.ceil(config.timeout_ms / 1000) + 60,
});

/** The spec's Amount: decimal with a point and one or two decimals (`20000.00`). */
function specAmount(amount: string): string {
  const [whole, fraction = ''] = amount.split('.');
  return `${whole}.${fraction.padEnd(2, '0').slice(0, 2)}`;
}

/**
 * Our transaction ids name the cycle (`{cycle}:{uuid}`), so a callback, which carries only the transaction id and
 * the references, is reconciled against the cycle the batch came from: references it does not hold are mismatches.
 */
const transactionId = (cycleId: string) => `${cycleId}:${randomUUID()}`;
const cycleOf = (transaction: unknown) => {
  const text = String(transaction ?? '');
  const colon = text.indexOf(':');
  return colon > 0 && isUuid(text.slice(0, colon)) ? text.slice(0, colon) : undefined;
};

const ACK = 'ACK';

/**
 * Payments through a DCI / G2P Connect disbursement API. `send` reads each payee's financial address from the
 * registry (a payee without one fails at once, with the reason) and enqueues one job per batch in the sending
 * transaction; the job POSTs one signed `disburse` (retried with backoff until the gateway acknowledges it, then, if
 * it never does, the payments go back to PENDING). The outcome arrives as a signed `on-disburse` callback, or as a
 * `txn/on-status` answer to the `txn/status` that `fetchStatus` sends, and is applied by the reconciliation, so a
 * repeated callback changes nothing and unknown references are reported. Each payment's `reference_id` is ours: a
 * retried batch carries the same ones, and the gateway must not pay a reference twice.
 */
export class DciDisburseGateway implements PaymentGateway {
  readonly peer: DciPeer;
  readonly queue: QueueDefinition;
  private readonly callbackBase: string;

  constructor(
    readonly name: string,
    private readonly config: DciDisburseConfig,
    private readonly deps: DciDisburseDeps,
  ) {
    this.callbackBase = `${deps.publicUrl}/dci/callbacks/${name}`;
    this.peer = new DciPeer({ ...config, name }, { keys: deps.keys, senderId: deps.senderId, callbackBase: this.callbackBase, timeoutMs: config.timeout_ms });
    this.queue = disburseQueue(name, config);
  }

  get batchSize() {
    return this.config.batch_size;
  }

  async send(batch: OutgoingBatch, { tx }: SendContext): Promise<BatchReceipt> {
    const payees = batch.payments.flatMap((p) => (p.payee.id ? [p.payee.id] : []));
    const addresses = await payeeAddresses(tx, payees, this.config.payee_fa);
    const results: GatewayResult[] = [];
    const disbursements: Disbursement[] = [];
    for (const payment of batch.payments) {
      const found = payment.payee.id ? addresses.get(payment.payee.id) : undefined;
      if (!found || 'problem' in found) {
        const reason = found?.problem ?? (payment.payee.id ? `the payee has no ${describeSource(this.config.payee_fa)}` : 'there is no payee (a household without a head)');
        results.push({ reference_id: payment.reference_id, status: 'FAILED', reason: `not sent: ${reason}` });
        continue;
      }
      disbursements.push({
        reference_id: payment.reference_id,
        payer_fa: this.config.payer_fa,
        payee_fa: found.address,
        amount: specAmount(payment.amount),
        ...(payment.currency ? { currency_code: payment.currency } : {}),
        ...(this.config.payer_name ? { payer_name: this.config.payer_name } : {}),
        ...(payment.payee.name ? { payee_name: payment.payee.name } : {}),
        ...(this.config.purpose ? { purpose: this.config.purpose } : {}),
      });
      results.push({ reference_id: payment.reference_id, status: 'ACCEPTED' });
    }
    if (disbursements.length > 0) {
      const job: DisburseJob = { transaction_id: transactionId(batch.cycle_id), disbursements };
      await this.deps.jobs.send(this.queue.name, job, { tx });
    }
    return { results };
  }

  /** POSTs a signed request; anything but the gateway's ACK is a failure. Answers its correlation id. */
  private async request(path: string, action: string, message: Json & { transaction_id: string }, count: number, callback: string): Promise<string | null> {
    const answer = await this.peer.post(path, action, message, count, `${this.callbackBase}/${callback}`);
    const ack = answer.message as Json | undefined;
    if (ack?.ack_status !== ACK) throw new DciClientError(`${this.name}: ${action} not acknowledged: ${JSON.stringify(answer).slice(0, 300)}`);
    return typeof ack.correlation_id === 'string' ? ack.correlation_id : null;
  }

  /** Delivers one batch; a throw makes pg-boss retry it with backoff. */
  worker(): Worker<DisburseJob> {
    return {
      queue: this.queue,
      handler: async (job, meta) => {
        const references = job.disbursements.map((d) => d.reference_id);
        let correlationId: string | null;
        try {
          correlationId = await this.request('disburse', 'disburse', { transaction_id: job.transaction_id, disbursements: job.disbursements }, job.disbursements.length, 'on-disburse');
        } catch (err) {
          const attempt = `attempt ${meta.retryCount + 1} of ${this.queue.retryLimit + 1}`;
          await batchUndelivered(this.deps.db, references, `gateway ${this.name}, ${attempt}: ${(err as Error).message}`, meta.retryCount >= this.queue.retryLimit);
          throw err;
        }
        await batchDelivered(this.deps.db, references, correlationId);
      },
    };
  }

  /** Asks for the outcome of these payments (`txn/status`); the answer comes back as `txn/on-status` and is reconciled then. */
  async fetchStatus(references: string[], { cycle_id }: { cycle_id: string }): Promise<SettlementReport[]> {
    if (references.length === 0) return [];
    await this.request(
      'disburse/txn/status',
      'txn-status',
      {
        transaction_id: transactionId(cycle_id),
        txnstatus_request: { reference_id: randomUUID(), txn_type: 'disburse', attribute_type: 'reference_id_list', attribute_value: references },
      },
      1,
      'disburse/txn/on-status',
    );
    return [];
  }

  /**
   * An `on-disburse` or `txn-on-status` callback: verified against the gateway's keys, checked against the schema,
   * then its outcomes reconciled against the cycle its transaction names. `succ` is PAID, `rjct` FAILED with the
   * reason; `rcvd` / `pdng` are not outcomes yet, and `rjct.reference_id.duplicate` only says the gateway has the
   * payment already (its outcome is reported for the first copy).
   */
  async receive(action: 'on-disburse' | 'txn-on-status', body: unknown): Promise<CallbackAnswer & { result?: ReconciliationResult }> {
    const envelope = body as Envelope;
    let message: Json;
    try {
      if (typeof envelope !== 'object' || envelope === null || typeof envelope.header !== 'object' || envelope.header === null) {
        throw new DciError(400, 'err.request.bad', 'the body must be a DCI envelope {signature, header, message}');
      }
      message = await this.peer.open(envelope);
      const check = validator(`${action}.request.json`, 'disburse');
      if (!check({ ...envelope, message })) throw new DciError(400, 'err.request.bad', describeErrors(check.errors));
    } catch (err) {
      if (err instanceof DciError) return callbackAnswer(err);
      throw err;
    }
    const status = action === 'on-disburse' ? message : ((message.txnstatus_response as Json | undefined)?.txn_status as Json | undefined);
    const items = ((status?.disbursements_status as Json[] | undefined) ?? []).filter(
      (item) => item.status === 'succ' || (item.status === 'rjct' && item.status_reason_code !== 'rjct.reference_id.duplicate'),
    );
    const cycleId = cycleOf(message.transaction_id) ?? cycleOf(status?.transaction_id);
    if (!cycleId) return callbackAnswer(new DciError(400, 'err.request.bad', 'transaction_id is not one of our disbursement transactions'));
    const reports: SettlementReport[] = items.map((item) => ({
      reference_id: String(item.reference_id),
      status: item.status === 'succ' ? 'PAID' : 'FAILED',
      reason: item.status === 'rjct' ? [item.status_reason_code, item.status_reason_message].filter(Boolean).join(': ') || 'rejected by the gateway' : null,
      amount: typeof item.amount === 'string' ? item.amount : null,
    }));
    try {
      const result = await reconcile(this.deps.db, systemActor(`gateway:${this.name}`), cycleId, reports, `callback:${this.name}:${action}`, { gateway: this.name });
      return { ...callbackAnswer(), result };
    } catch (err) {
      if (err instanceof HubError && (err.kind === 'not_found' || err.kind === 'conflict')) {
        return callbackAnswer(new DciError(400, 'err.request.bad', `transaction_id names no payment cycle sent through ${this.name}: ${err.message}`));
      }
      throw err;
    }
  }
}
