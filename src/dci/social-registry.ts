import type { DciConfig } from '../config.js';
import { groups, individuals } from '../db/schema/index.js';
import { attributeFor } from './criteria/attributes.js';
import { compileIdTypeValue } from './criteria/idtype-value.js';
import type { Entity } from './criteria/model.js';
import { groupRecords, personRecords } from './records.js';
import type { DciRegistry, RecordKind } from './registry.js';

/** Our event names, and the reg_event_type values partners may subscribe with (ours, the spec's, namespaced or not). */
const EVENT_NAMES: Record<string, string> = {
  register: 'REGISTER',
  update: 'UPDATE',
  delete: 'DELETE',
  link: 'LINK',
  newhouseholdmember: 'LINK',
  unlink: 'UNLINK',
};

/** The reg_event_type we put in a notify: the spec's two values where it has one, ours (documented) otherwise. */
const NOTIFY_EVENT_TYPE: Record<string, string> = {
  REGISTER: 'REGISTER',
  LINK: 'NewHouseHoldMember',
  UPDATE: 'UPDATE',
  DELETE: 'DELETE',
  UNLINK: 'UNLINK',
};

function kind(entity: Entity, config: DciConfig): RecordKind {
  if (entity === 'Group') {
    return {
      name: 'Group',
      regRecordType: 'Group',
      table: groups,
      changeEntity: 'group',
      attributes: { label: 'Group', table: groups, resolve: (name) => attributeFor('Group', name, config) },
      idTypeValue: (query) => compileIdTypeValue('Group', query),
      records: (db, actor, ids) => groupRecords(db, actor, ids, config.attributes),
    };
  }
  return {
    name: 'Member',
    regRecordType: 'SRPerson',
    table: individuals,
    changeEntity: 'individual',
    attributes: { label: 'Member', table: individuals, resolve: (name) => attributeFor('Member', name, config) },
    idTypeValue: (query) => compileIdTypeValue('Member', query),
    records: (db, _actor, ids) => personRecords(db, ids),
  };
}

const isGroup = (hint: string | undefined) => /group|household/i.test(hint ?? '');

/** The DCI Social Registry: people (Member, answered as SRPerson) and households (Group), notified of registry changes. */
export const socialRegistry: DciRegistry = {
  name: 'sr',
  spec: 'social',
  defaultRegType: 'ns:org:RegistryType:Social',
  // response_entity first; else what the expression's collection or reg_record_type names; else people.
  recordsFor: (hints, config) =>
    kind((hints.responseEntity as Entity | undefined) ?? (isGroup(hints.collection ?? hints.recordType) ? 'Group' : 'Member'), config),
  searchHints: () => ({}),
  subscriptionEvent: (regEventType) => EVENT_NAMES[regEventType.split(':').pop()!.toLowerCase()],
  eventNames: Object.keys(EVENT_NAMES),
  notifyEventType: (event) => NOTIFY_EVENT_TYPE[event] ?? event,
  subscriptionRecords: (notifyRecordType, _event, config) => kind(isGroup(notifyRecordType) ? 'Group' : 'Member', config),
};
