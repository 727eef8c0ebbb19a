import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { unprocessable } from '../../errors.js';
import type { BatchReceipt, OutgoingBatch, PaymentGateway, SettlementReport } from '../../payments/gateway.js';

/** Signs a manifest: answers a compact JWS over its JSON. */
export type ManifestSigner = (manifest: object) => Promise<string>;

export interface FileGatewayOptions {
  directory: string;
  batchSize: number;
  sign: ManifestSigner;
}

export const EXPORT_COLUMNS = ['reference_id', 'beneficiary_id', 'subject_id', 'payee_name', 'payee_phone', 'amount', 'currency'] as const;

const cents = (amount: string) => Math.round(Number(amount) * 100);
const AMOUNT = /^\d{1,15}(\.\d{1,2})?$/;
const STATUSES: Record<string, 'PAID' | 'FAILED'> = { paid: 'PAID', failed: 'FAILED' };

/**
 * Payments for a bank or mobile-money operator as files: each batch becomes a CSV and a manifest (counts, total,
 * SHA-256 of the CSV) signed with the hub key; the operator answers with a reconciliation CSV. The CSV is named by
 * its own digest, so a batch exported again after a failure replaces the same file instead of adding a second one;
 * operators must still treat `reference_id` as the idempotency key.
 */
export class FileGateway implements PaymentGateway {
  constructor(
    readonly name: string,
    private readonly options: FileGatewayOptions,
  ) {}

  get batchSize() {
    return this.options.batchSize;
  }

  async send(batch: OutgoingBatch): Promise<BatchReceipt> {
    const rows = batch.payments.map((p) => [p.reference_id, p.beneficiary_id, p.subject_id, p.payee.name ?? '', p.payee.phone ?? '', p.amount, p.currency ?? '']);
    const csv = stringify(rows, { header: true, columns: [...EXPORT_COLUMNS] });
    const sha256 = createHash('sha256').update(csv).digest('hex');
    const name = `${batch.cycle_id}-${sha256.slice(0, 16)}.csv`;
    const totalCents = batch.payments.reduce((sum, p) => sum + cents(p.amount), 0);
    const manifest = {
      file: name,
      sha256,
      cycle_id: batch.cycle_id,
      payments: batch.payments.length,
      total: (totalCents / 100).toFixed(2),
      currency: batch.payments[0]?.currency ?? null,
      created_at: new Date().toISOString(),
    };
    const signed = await this.options.sign(manifest);
    await fs.mkdir(this.options.directory, { recursive: true });
    await fs.writeFile(path.join(this.options.directory, name), csv);
    await fs.writeFile(path.join(this.options.directory, `${name}.manifest.jws`), signed);
    return {
      results: batch.payments.map((p) => ({ reference_id: p.reference_id, status: 'ACCEPTED' })),
      artefacts: [{ name, sha256, payments: batch.payments.length, total: totalCents / 100, manifest: signed }],
    };
  }

  /** An operator answers with files only. */
  async fetchStatus(): Promise<SettlementReport[]> {
    return [];
  }

  /**
   * The operator's CSV: a header, then `reference_id`, `status` (paid or failed), and optionally `reason`,
   * `gateway_reference` (their transaction id) and `amount`. A row that cannot be read refuses the whole file (422
   * naming the line), so a file is applied entirely or not at all.
   */
  async parseReconciliation(content: string): Promise<SettlementReport[]> {
    let records: Record<string, string>[];
    try {
      records = parse(content, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true });
    } catch (err) {
      throw unprocessable(`the reconciliation file cannot be read: ${(err as Error).message}`);
    }
    return records.map((record, i) => {
      const line = i + 2;
      const status = STATUSES[(record.status ?? '').toLowerCase()];
      if (!record.reference_id) throw unprocessable(`line ${line}: reference_id is missing`);
      if (!status) throw unprocessable(`line ${line}: status must be paid or failed, not "${record.status ?? ''}"`);
      if (record.amount && !AMOUNT.test(record.amount)) throw unprocessable(`line ${line}: amount "${record.amount}" is not a number`);
      return {
        line,
        reference_id: record.reference_id,
        status,
        reason: record.reason || null,
        gateway_reference: record.gateway_reference || null,
        amount: record.amount || null,
      };
    });
  }
}
