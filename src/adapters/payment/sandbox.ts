import { createHash } from 'node:crypto';
import type { BatchReceipt, GatewayResult, OutgoingBatch, PaymentGateway, SettlementReport } from '../../payments/gateway.js';

export interface SandboxOptions {
  /** Share of payments (0..1) the simulator reports as failed. */
  failureRate: number;
  /** Which payments fail is a function of the seed and the reference: the same run gives the same outcome. */
  seed: number;
  /** `immediate`: results come back with the send; `deferred`: only ACCEPTED, results through fetchStatus. */
  settle: 'immediate' | 'deferred';
  batchSize: number;
}

interface LedgerEntry {
  reference_id: string;
  amount: string;
  status: 'PAID' | 'FAILED';
  gateway_reference: string;
  reason: string | null;
  /** How many times the hub handed this reference over. */
  received: number;
}

/**
 * A payment provider simulator for demos and tests. Like a real provider it keeps a ledger keyed by the reference
 * (the idempotency key): a payment received again is answered from the ledger and never paid a second time.
 */
export class SandboxGateway implements PaymentGateway {
  private readonly ledger = new Map<string, LedgerEntry>();

  constructor(
    readonly name: string,
    private readonly options: SandboxOptions,
  ) {}

  get batchSize() {
    return this.options.batchSize;
  }

  private settle(referenceId: string, amount: string): LedgerEntry {
    const hash = createHash('sha256').update(`${this.options.seed}:${referenceId}`).digest();
    const fails = hash.readUInt32BE(0) / 2 ** 32 < this.options.failureRate;
    return {
      reference_id: referenceId,
      amount,
      status: fails ? 'FAILED' : 'PAID',
      gateway_reference: `SBX-${hash.toString('hex', 4, 12)}`,
      reason: fails ? 'simulated failure: payee account unavailable' : null,
      received: 0,
    };
  }

  async send(batch: OutgoingBatch): Promise<BatchReceipt> {
    const results: GatewayResult[] = batch.payments.map((payment) => {
      const entry = this.ledger.get(payment.reference_id) ?? this.settle(payment.reference_id, payment.amount);
      entry.received++;
      this.ledger.set(payment.reference_id, entry);
      return this.options.settle === 'immediate'
        ? { reference_id: entry.reference_id, status: entry.status, gateway_reference: entry.gateway_reference, reason: entry.reason, amount: entry.amount }
        : { reference_id: entry.reference_id, status: 'ACCEPTED', gateway_reference: entry.gateway_reference };
    });
    return { results };
  }

  async fetchStatus(references: string[]): Promise<SettlementReport[]> {
    return references.flatMap((ref) => {
      const entry = this.ledger.get(ref);
      return entry
        ? [{ reference_id: ref, status: entry.status, gateway_reference: entry.gateway_reference, reason: entry.reason, amount: entry.amount }]
        : [];
    });
  }

  /** What the simulator paid out: one entry per reference, with how often it was received. */
  payouts(): readonly Readonly<LedgerEntry>[] {
    return [...this.ledger.values()];
  }
}
