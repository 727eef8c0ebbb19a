import type { SQL } from 'drizzle-orm';
import type { DciConfig } from '../config.js';
import type { Db } from '../db/client.js';
import type { groups, individuals } from '../db/schema/index.js';
import type { Actor } from '../security/actor.js';
import type { AttributeResolver } from './criteria/compile.js';
import type { DciSpec } from './schemas.js';

type Json = Record<string, unknown>;

/** One kind of record a DCI provider answers with (SR Person, SR Group, CRVS Person): how to select and render it. */
export interface RecordKind {
  /** Stored with subscriptions (`entity`): Member, Group, Person. */
  name: string;
  /** `reg_record_type` of the answers. */
  regRecordType: string;
  table: typeof individuals | typeof groups;
  /** The `registry_changes.entity` whose changes concern these records. */
  changeEntity: 'individual' | 'group';
  /** What every record of this kind satisfies (a CRVS person has a civil event), beyond the query. */
  scope?: SQL;
  attributes: AttributeResolver;
  /** The `idtype-value` query as a condition on `table`. */
  idTypeValue(query: unknown): SQL;
  /** The records of these ids, in the same order. */
  records(db: Db, actor: Actor, ids: string[]): Promise<Json[]>;
}

/** What a search or subscription names about the records it wants. */
export interface RecordHints {
  responseEntity?: string;
  collection?: string;
  recordType?: string;
  /** A vital event type (CRVS): the event whose date, place and registration the attributes read. */
  eventType?: string;
}

/**
 * A DCI provider: the Social Registry (/dci/sr) or the CRVS (/dci/crvs). The exchange, search, subscription, notify
 * and txn status machinery is shared; a registry says which records it serves and which events it notifies.
 */
export interface DciRegistry {
  /** Stored with transactions and subscriptions: sr or crvs. */
  name: 'sr' | 'crvs';
  spec: DciSpec;
  defaultRegType: string;
  recordsFor(hints: RecordHints, config: DciConfig): RecordKind;
  /** The event hints a search item carries beyond the spec's criteria (CRVS clients send a reg_event_type). */
  searchHints(criteria: Record<string, unknown>): RecordHints;
  /** Our event name for a subscription's reg_event_type; undefined when this registry has no such event. */
  subscriptionEvent(regEventType: string): string | undefined;
  /** The reg_event_type values a subscription may use, for error messages. */
  eventNames: readonly string[];
  /** The reg_event_type a notify carries for one of our events. */
  notifyEventType(event: string): string;
  /** The record kind a subscription's notify_record_type and event select. */
  subscriptionRecords(notifyRecordType: string, event: string, config: DciConfig): RecordKind;
}
