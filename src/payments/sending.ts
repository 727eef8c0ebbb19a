import { eq, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { paymentCycles } from '../db/schema/index.js';
import { conflict } from '../errors.js';
import type { Programme } from '../programmes/schemas.js';
import type { Actor } from '../security/actor.js';
import { loadCycle, toCycle } from './cycles.js';
import type { GatewayArtefact, GatewayRegistry, GatewayResult, OutgoingPayment, PaymentGateway } from './gateway.js';
import type { SendResult } from './schemas.js';

type Outgoing = OutgoingPayment & { id: string };

/** The payee as the registry knows them: the person, or the household's current head. */
function payeeJoin(programme: Programme) {
  return programme.subject === 'individual'
    ? sql`LEFT JOIN individuals pi ON pi.id = p.subject_id`
    : sql`LEFT JOIN group_members hm ON hm.group_id = p.subject_id AND hm.role = 'head' AND hm.end_date IS NULL
          LEFT JOIN individuals pi ON pi.id = hm.individual_id`;
}

/** A gateway may repeat a result; one that contradicts itself about a reference is not applied at all. */
function consistentResults(results: GatewayResult[], inBatch: Set<string>): Map<string, GatewayResult> {
  const byRef = new Map<string, GatewayResult>();
  const contradicted = new Set<string>();
  for (const result of results) {
    if (!inBatch.has(result.reference_id)) continue;
    const seen = byRef.get(result.reference_id);
    if (seen && (seen.status !== result.status || (seen.gateway_reference ?? null) !== (result.gateway_reference ?? null))) {
      contradicted.add(result.reference_id);
    }
    byRef.set(result.reference_id, result);
  }
  for (const ref of contradicted) byRef.delete(ref);
  return byRef;
}

interface BatchOutcome {
  lastId: string;
  accepted: number;
  paid: number;
  failed: number;
  unacknowledged: number;
  artefacts: GatewayArtefact[];
  error?: string;
}

/**
 * One batch, in one transaction: the next PENDING payable payments (locked, SKIP LOCKED so concurrent sends take
 * different ones) are handed to the gateway and what it acknowledged is recorded. What it did not acknowledge, or
 * everything when the call fails, stays PENDING and is sent again, with the same reference, by the next send.
 */
async function sendBatch(
  db: Db,
  gateway: PaymentGateway,
  programme: Programme,
  cycleId: string,
  conditional: boolean,
  afterId: string,
  sequence: number,
): Promise<BatchOutcome | null> {
  return db.transaction(async (tx) => {
    const rows = await queryRows<Outgoing & { payee_id: string | null; name: string | null; phone: string | null }>(
      tx,
      sql`SELECT p.id, p.reference_id, p.amount::text AS amount, p.currency, p.beneficiary_id, p.subject_id,
                 pi.id AS payee_id, pi.given_name || ' ' || pi.family_name AS name, pi.phone
          FROM payments p JOIN beneficiaries b ON b.id = p.beneficiary_id ${payeeJoin(programme)}
          WHERE p.cycle_id = ${cycleId} AND p.status = 'PENDING' AND b.status = 'ACTIVE'
            AND ${conditional ? sql`p.compliant IS TRUE` : sql`TRUE`} AND p.id > ${afterId}
          ORDER BY p.id LIMIT ${gateway.batchSize}
          FOR UPDATE OF p SKIP LOCKED`,
    );
    if (rows.length === 0) return null;
    const ids = rows.map((r) => r.id);
    const lastId = ids[ids.length - 1]!;
    await tx.execute(sql`UPDATE payments SET attempts = attempts + 1 WHERE id IN ${ids}`);
    const batch = rows.map(({ payee_id, name, phone, id: _id, ...payment }) => ({ ...payment, payee: { id: payee_id, name, phone } }));
    let receipt;
    try {
      receipt = await gateway.send({ cycle_id: cycleId, sequence, payments: batch }, { tx });
    } catch (err) {
      const error = `gateway ${gateway.name}: ${(err as Error).message}`;
      await tx.execute(sql`UPDATE payments SET last_error = ${error} WHERE id IN ${ids}`);
      return { lastId, accepted: 0, paid: 0, failed: 0, unacknowledged: rows.length, artefacts: [], error };
    }
    const results = consistentResults(receipt.results, new Set(rows.map((r) => r.reference_id)));
    const applied = [...results.values()].map((r) => ({
      reference_id: r.reference_id,
      status: r.status === 'ACCEPTED' ? 'SENT' : r.status,
      gateway_reference: r.gateway_reference ?? null,
      reason: r.reason ?? null,
    }));
    await tx.execute(sql`
      UPDATE payments p SET status = r.status, gateway_reference = COALESCE(r.gateway_reference, p.gateway_reference),
             reason = r.reason, sent_at = now(), last_error = NULL,
             settled_at = CASE WHEN r.status IN ('PAID', 'FAILED') THEN now() END
      FROM jsonb_to_recordset(${JSON.stringify(applied)}::jsonb) AS r(reference_id text, status text, gateway_reference text, reason text)
      WHERE p.cycle_id = ${cycleId} AND p.reference_id = r.reference_id AND p.status = 'PENDING'`);
    const unacknowledged = rows.filter((r) => !results.has(r.reference_id)).map((r) => r.id);
    if (unacknowledged.length > 0) {
      await tx.execute(sql`UPDATE payments SET last_error = ${`not acknowledged by gateway ${gateway.name}`} WHERE id IN ${unacknowledged}`);
    }
    const count = (status: string) => applied.filter((a) => a.status === status).length;
    return {
      lastId,
      accepted: count('SENT'),
      paid: count('PAID'),
      failed: count('FAILED'),
      unacknowledged: unacknowledged.length,
      artefacts: receipt.artefacts ?? [],
    };
  });
}

/**
 * Hands every PENDING payable payment of an APPROVED (or partly sent) cycle to the plan's gateway, batch by batch,
 * and records what came back. Safe to run again after any failure: only payments without acknowledgement are sent
 * again, under the reference (idempotency key) they had, so a gateway that received them already does not pay twice.
 */
export async function sendCycle(db: Db, actor: Actor, gateways: GatewayRegistry, cycleId: string): Promise<SendResult> {
  const { cycle, plan, programme } = await loadCycle(db, actor, cycleId);
  if (cycle.status === 'DRAFT') throw conflict('the cycle must be approved before it is sent');
  const gateway = gateways.get(plan.gateway);
  if (!gateway) throw conflict(`payment gateway "${plan.gateway}" is not configured on this hub`);
  const totals = { batches: 0, accepted: 0, paid: 0, failed: 0, unacknowledged: 0, artefacts: [] as GatewayArtefact[] };
  let error: string | undefined;
  let afterId = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const outcome = await sendBatch(db, gateway, programme, cycleId, plan.conditional, afterId, totals.batches + 1);
    if (!outcome) break;
    totals.batches++;
    totals.accepted += outcome.accepted;
    totals.paid += outcome.paid;
    totals.failed += outcome.failed;
    totals.unacknowledged += outcome.unacknowledged;
    totals.artefacts.push(...outcome.artefacts);
    afterId = outcome.lastId;
    if (outcome.error) {
      error = outcome.error;
      break;
    }
  }
  return db.transaction(async (tx) => {
    const [left] = await queryRows<{ pending: string | number; held: string | number }>(
      tx,
      sql`SELECT count(*) FILTER (WHERE b.status = 'ACTIVE') AS pending, count(*) FILTER (WHERE b.status <> 'ACTIVE') AS held
          FROM payments p JOIN beneficiaries b ON b.id = p.beneficiary_id
          WHERE p.cycle_id = ${cycleId} AND p.status = 'PENDING' AND ${plan.conditional ? sql`p.compliant IS TRUE` : sql`TRUE`}`,
    );
    if (Number(left!.pending) === 0) {
      await tx.update(paymentCycles).set({ status: 'SENT', updatedAt: new Date() }).where(eq(paymentCycles.id, cycleId));
    }
    const [row] = await tx.select().from(paymentCycles).where(eq(paymentCycles.id, cycleId));
    const result: SendResult = {
      ...totals,
      artefacts: totals.artefacts.map(({ name, sha256, payments, total, manifest }) => ({ name, sha256, payments, total, manifest })),
      held: Number(left!.held),
      ...(error ? { error } : {}),
      cycle: toCycle(row!, plan),
    };
    const { cycle: _cycle, ...summary } = result;
    await appendAudit(tx, actor, { action: 'payment_cycle.send', entityType: 'payment_cycle', entityId: cycleId, after: summary });
    return result;
  });
}
