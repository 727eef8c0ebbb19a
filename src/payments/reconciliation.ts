import { sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { conflict } from '../errors.js';
import type { Actor } from '../security/actor.js';
import { loadCycle } from './cycles.js';
import type { GatewayRegistry, SettlementReport } from './gateway.js';
import type { Mismatch, ReconciliationResult } from './schemas.js';

const LISTED_MISMATCHES = 1000;

/**
 * Applies settled outcomes (from an operator's file or the gateway) to a cycle's payments, matched by reference:
 * PAID or FAILED with the reason, keeping the gateway's reference. Whatever does not match cleanly is reported and
 * left alone: a reference reported twice, one this cycle does not have, a different amount, a payment already
 * settled the other way, or one that was never payable. Reporting the same outcome again changes nothing.
 * With `gateway`, the reports come from that gateway, which may settle only the cycles sent through it.
 */
export function reconcile(
  db: Db,
  actor: Actor,
  cycleId: string,
  reports: SettlementReport[],
  source: string,
  options: { gateway?: string } = {},
): Promise<ReconciliationResult> {
  return db.transaction(async (tx) => {
    const { cycle, plan } = await loadCycle(tx, actor, cycleId, true);
    if (cycle.status === 'DRAFT') throw conflict('a DRAFT cycle has sent nothing to reconcile');
    if (options.gateway !== undefined && plan.gateway !== options.gateway) throw conflict(`the cycle is not paid through gateway ${options.gateway}`);
    const rows = reports.map((r, i) => ({
      line: r.line ?? i + 1,
      reference_id: r.reference_id,
      status: r.status,
      gateway_reference: r.gateway_reference ?? null,
      reason: r.reason ?? null,
      amount: r.amount ?? null,
    }));
    const payable = plan.conditional ? sql`p.compliant IS TRUE` : sql`TRUE`;
    const judged = await queryRows<{ line: number; reference_id: string; verdict: string; detail: string | null; n: string | number }>(
      tx,
      sql`WITH r AS (
          SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
            AS r(line int, reference_id text, status text, gateway_reference text, reason text, amount numeric)),
        counted AS (SELECT r.*, count(*) OVER (PARTITION BY r.reference_id) AS copies FROM r),
        judged AS (
          SELECT c.line, c.reference_id, c.status, c.gateway_reference, c.reason, p.id,
            CASE WHEN c.copies > 1 THEN 'duplicate'
                 WHEN p.id IS NULL THEN 'unknown_reference'
                 WHEN c.amount IS NOT NULL AND c.amount <> p.amount THEN 'amount_mismatch'
                 WHEN p.status = c.status THEN 'unchanged'
                 WHEN p.status IN ('PAID', 'FAILED') THEN 'conflicting_status'
                 WHEN NOT (${payable}) THEN 'not_payable'
                 ELSE 'apply' END AS verdict,
            CASE WHEN c.copies > 1 THEN 'reported ' || c.copies || ' times in one reconciliation'
                 WHEN p.id IS NULL THEN 'no payment of this cycle has this reference'
                 WHEN c.amount IS NOT NULL AND c.amount <> p.amount THEN 'reported ' || c.amount || ', the payment is ' || p.amount
                 WHEN p.status IN ('PAID', 'FAILED') THEN 'reported ' || c.status || ', already ' || p.status
                 ELSE 'the payment was never payable (not compliant)' END AS detail
          FROM counted c LEFT JOIN payments p ON p.reference_id = c.reference_id AND p.cycle_id = ${cycleId}),
        applied AS (
          UPDATE payments p SET status = j.status, reason = j.reason, settled_at = now(), last_error = NULL,
                 gateway_reference = COALESCE(j.gateway_reference, p.gateway_reference), sent_at = COALESCE(p.sent_at, now())
          FROM judged j WHERE j.verdict = 'apply' AND p.id = j.id
          RETURNING p.status)
        SELECT 0 AS line, '' AS reference_id, 'applied:' || status AS verdict, NULL AS detail, count(*) AS n FROM applied GROUP BY status
        UNION ALL
        SELECT 0, '', 'unchanged', NULL, count(*) FROM judged WHERE verdict = 'unchanged'
        UNION ALL
        SELECT 0, '', 'mismatches', NULL, count(*) FROM judged WHERE verdict NOT IN ('apply', 'unchanged')
        UNION ALL
        (SELECT line, reference_id, verdict, detail, 1 FROM judged WHERE verdict NOT IN ('apply', 'unchanged')
         ORDER BY line LIMIT ${LISTED_MISMATCHES})`,
    );
    const count = (verdict: string) => Number(judged.find((j) => j.line === 0 && j.verdict === verdict)?.n ?? 0);
    const mismatches: Mismatch[] = judged
      .filter((j) => j.line !== 0)
      .map((j) => ({ line: j.line, reference_id: j.reference_id, problem: j.verdict as Mismatch['problem'], detail: j.detail ?? '' }));
    const result: ReconciliationResult = {
      reported: reports.length,
      paid: count('applied:PAID'),
      failed: count('applied:FAILED'),
      unchanged: count('unchanged'),
      mismatch_count: count('mismatches'),
      mismatches,
    };
    await appendAudit(tx, actor, { action: 'payment_cycle.reconcile', entityType: 'payment_cycle', entityId: cycleId, after: { source, ...result } });
    return result;
  });
}

/** Asks the plan's gateway about every payment it holds (SENT) and reconciles what it reports as settled. */
export async function reconcileFromGateway(db: Db, actor: Actor, gateways: GatewayRegistry, cycleId: string): Promise<ReconciliationResult> {
  const { plan } = await loadCycle(db, actor, cycleId);
  const gateway = gateways.get(plan.gateway);
  if (!gateway) throw conflict(`payment gateway "${plan.gateway}" is not configured on this hub`);
  const sent = await queryRows<{ reference_id: string }>(
    db,
    sql`SELECT reference_id FROM payments WHERE cycle_id = ${cycleId} AND status = 'SENT' ORDER BY reference_id`,
  );
  const reports: SettlementReport[] = [];
  for (let i = 0; i < sent.length; i += gateway.batchSize) {
    reports.push(...(await gateway.fetchStatus(sent.slice(i, i + gateway.batchSize).map((r) => r.reference_id), { cycle_id: cycleId })));
  }
  return reconcile(db, actor, cycleId, reports, `gateway:${gateway.name}`);
}

/** Reads an operator's reconciliation file with the plan gateway's parser and reconciles it. */
export async function reconcileFile(db: Db, actor: Actor, gateways: GatewayRegistry, cycleId: string, content: string) {
  const { plan } = await loadCycle(db, actor, cycleId);
  const gateway = gateways.get(plan.gateway);
  if (!gateway?.parseReconciliation) throw conflict(`payment gateway "${plan.gateway}" does not exchange reconciliation files`);
  return reconcile(db, actor, cycleId, await gateway.parseReconciliation(content), `file:${gateway.name}`);
}
