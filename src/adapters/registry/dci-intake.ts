import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { registrySubscriptions } from '../../db/schema/index.js';
import { DciError } from '../../dci/codes.js';
import { systemActor } from '../../security/actor.js';
import type { CivilEventType } from '../../registry/civil-event-schemas.js';
import { applyReportedEvent, type IntakeOutcome } from '../../registry/vital-event-intake.js';
import { vitalEvent } from '../../dci/crvs-records.js';
import { reportedEvents } from './dci-crvs-records.js';
import { callbackAnswer, type CallbackAnswer, type Envelope } from '../../dci/client.js';
import type { DciClient } from './dci.js';

type Json = Record<string, unknown>;
type Tally = Record<IntakeOutcome, number>;

const tally = (): Tally => ({ recorded: 0, duplicate: 0, review: 0 });

/** Applies the vital events of these data blocks (notify_event or search_response items), each once, in one transaction. */
async function applyData(db: Db, client: DciClient, blocks: unknown[]): Promise<Tally> {
  const name = client.registry.name;
  const actor = systemActor(`registry:${name}`);
  const counts = tally();
  await db.transaction(async (tx) => {
    for (const data of blocks) {
      for (const event of reportedEvents(data, client.registry.identifier_types)) counts[await applyReportedEvent(tx, actor, name, event)]++;
    }
  });
  return counts;
}

/**
 * A callback from the external registry (notify, on-search, on-subscribe …) at /dci/callbacks/{name}/registry/…:
 * its signature must verify against their keys before anything in it is used; events it carries are applied
 * idempotently, so their retries and duplicates are harmless. Answers the spec's Ack, or an HttpErrorResponse.
 */
export async function receiveCallback(db: Db, client: DciClient, action: string, body: unknown): Promise<CallbackAnswer> {
  const envelope = body as Envelope;
  let message: Json;
  try {
    if (typeof envelope !== 'object' || envelope === null || typeof envelope.header !== 'object' || envelope.header === null) {
      throw new DciError(400, 'err.request.bad', 'the body must be a DCI envelope {signature, header, message}');
    }
    message = await client.open(envelope);
  } catch (err) {
    if (err instanceof DciError) return callbackAnswer(err);
    throw err;
  }
  if (action === 'notify') {
    await applyData(db, client, ((message.notify_event as Json[] | undefined) ?? []).map((e) => e.data));
  } else if (action === 'on-search') {
    await applyData(db, client, ((message.search_response as Json[] | undefined) ?? []).map((e) => e.data));
  } else if (action === 'on-subscribe') {
    for (const item of (message.subscribe_response as Json[] | undefined) ?? []) {
      const code = ((item.subscriptions as Json[] | undefined) ?? [])[0]?.code;
      await db
        .update(registrySubscriptions)
        .set({
          status: item.status === 'succ' ? 'subscribe' : 'rjct',
          code: typeof code === 'string' ? code : null,
          reason: typeof item.status_reason_code === 'string' ? item.status_reason_code : null,
          updatedAt: new Date(),
        })
        .where(eq(registrySubscriptions.referenceId, String(item.reference_id)));
    }
  }
  return callbackAnswer();
}

/** Subscribes to their events of these types (their on-subscribe later fills in the codes). */
export async function subscribeToEvents(db: Db, client: DciClient, eventTypes: CivilEventType[]) {
  const sent = [];
  for (const eventType of eventTypes) {
    const filter = { type: 'ns:org:QueryType:expression', value: { expression: { query: { date_of_birth: { $gte: '1800-01-01' } } } } };
    const { transactionId, referenceId } = await client.subscribe(vitalEvent(eventType), filter);
    const [row] = await db
      .insert(registrySubscriptions)
      .values({ registry: client.registry.name, eventType, transactionId, referenceId })
      .returning();
    sent.push({ id: row!.id, event_type: eventType, reference_id: referenceId, status: row!.status });
  }
  return sent;
}

/**
 * Reconciliation for registries that cannot push (or missed a push): their events of these types registered in
 * [from, to], searched page by page and applied idempotently.
 */
export async function pullEvents(db: Db, client: DciClient, eventTypes: CivilEventType[], from: string, to: string, pageSize = 100) {
  const counts = tally();
  for (const eventType of eventTypes) {
    for (let page = 1; ; page++) {
      const [item] = await client.search([
        {
          reference_id: randomUUID(),
          timestamp: new Date().toISOString(),
          search_criteria: {
            version: '1.0.0',
            reg_type: 'ns:org:RegistryType:Civil',
            reg_event_type: vitalEvent(eventType),
            query_type: 'predicate',
            query: [
              {
                seq_num: 1,
                expression1: { attribute_name: 'registration_date', operator: 'ge', attribute_value: from },
                condition: 'and',
                expression2: { attribute_name: 'registration_date', operator: 'le', attribute_value: to },
              },
            ],
            sort: [{ attribute_name: 'registration_date', sort_order: 'asc' }],
            pagination: { page_size: pageSize, page_number: page },
          },
        },
      ]);
      if (!item || item.status !== 'succ') break;
      const done = await applyData(db, client, [item.data]);
      for (const k of Object.keys(counts) as IntakeOutcome[]) counts[k] += done[k];
      const records = ((item.data as Json | undefined)?.reg_records as unknown[] | undefined) ?? [];
      const total = Number((item.pagination as Json | undefined)?.total_count ?? 0);
      if (records.length < pageSize || page * pageSize >= total) break;
    }
  }
  return counts;
}
