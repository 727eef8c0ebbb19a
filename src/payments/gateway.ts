import type { Db } from '../db/client.js';

/**
 * The port every payment gateway implements. The domain hands over batches of payments and learns their outcome;
 * how they travel (a file for a bank, a simulator, an HTTP API, a queued DCI `disburse`) is the adapter's business.
 *
 * Contract, so that no payment is lost or made twice:
 * - `reference_id` is the idempotency key. A gateway given a reference it already received must not pay it again;
 *   it answers what it knows about it. The hub sends again every payment it has no acknowledgement for.
 * - `send` may acknowledge only part of a batch (the rest stays PENDING and is sent again later), may answer a final
 *   result at once (synchronous gateways) or only `ACCEPTED` (asynchronous ones: the result comes later through
 *   `fetchStatus`, a reconciliation file, or a callback that feeds the same reconciliation).
 * - A `send` that throws (timeout, connection lost) tells the hub nothing: the whole batch stays PENDING.
 */
export interface OutgoingPayment {
  reference_id: string;
  amount: string;
  currency: string | null;
  beneficiary_id: string;
  subject_id: string;
  /** The payee as the registry knows them (a household's head for household programmes); id null without one. */
  payee: { id: string | null; name: string | null; phone: string | null };
}

export interface OutgoingBatch {
  cycle_id: string;
  /** Position of this batch in the current send run, from 1. */
  sequence: number;
  payments: OutgoingPayment[];
}

/** What a gateway says about one payment. */
export interface GatewayResult {
  reference_id: string;
  status: 'ACCEPTED' | 'PAID' | 'FAILED';
  gateway_reference?: string | null;
  reason?: string | null;
  /** The amount the gateway paid or holds, when it says; a difference is reported, not applied. */
  amount?: string | null;
}

/** A file (or other document) the gateway produced for this batch, e.g. an export for a bank. */
export interface GatewayArtefact {
  name: string;
  sha256: string;
  payments: number;
  total: number;
  /** Signed manifest (compact JWS) describing the artefact. */
  manifest: string;
}

export interface BatchReceipt {
  results: GatewayResult[];
  artefacts?: GatewayArtefact[];
}

/** A settled outcome read from the gateway or from an operator's reconciliation file. */
export interface SettlementReport {
  line?: number;
  reference_id: string;
  status: 'PAID' | 'FAILED';
  gateway_reference?: string | null;
  reason?: string | null;
  amount?: string | null;
}

/** Where a batch is being recorded. */
export interface SendContext {
  /**
   * The transaction that records the receipt: a gateway that queues its work (a job per batch) enqueues it here, so
   * the work exists if and only if the batch is recorded as sent. Read the registry through it too.
   */
  tx: Db;
}

export interface PaymentGateway {
  readonly name: string;
  /** Most payments per `send` call. */
  readonly batchSize: number;
  send(batch: OutgoingBatch, context: SendContext): Promise<BatchReceipt>;
  /**
   * Settled outcomes the gateway knows of among `references`, all of cycle `cycle_id` (those still unsettled are left
   * out). An asynchronous gateway may answer none and deliver them later to the same reconciliation.
   */
  fetchStatus(references: string[], context: { cycle_id: string }): Promise<SettlementReport[]>;
  /** Reads an operator's reconciliation file, for gateways that exchange files. */
  parseReconciliation?(content: string): Promise<SettlementReport[]>;
}

/** The gateways a hub has, by the name plans refer to. */
export type GatewayRegistry = ReadonlyMap<string, PaymentGateway>;
