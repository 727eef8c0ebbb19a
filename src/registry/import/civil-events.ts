import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { queryRows } from '../../db/query-rows.js';
import { HubError } from '../../errors.js';
import type { Actor } from '../../security/actor.js';
import type { CivilEventInput, CivilEventType } from '../civil-event-schemas.js';
import { insertCivilEvent } from '../civil-events.js';
import type { IndividualInput } from '../schemas.js';
import type { Row } from './fields.js';
import type { BatchResult, RowIssue, StagedRow } from './merge.js';

/**
 * Civil events in bulk. Each event is recorded by `insertCivilEvent`, the code behind the admin API, so a death
 * suspends benefits through the workflow hook and a birth joins a parent's household exactly as one recorded through
 * the API. What can be told for the whole batch at once is: rows repeating an earlier row's registration, and
 * registrations already recorded (a re-run skips them without touching them). Each event is then recorded in its own
 * savepoint, so a row the registry refuses is reported and the others are kept.
 */

const PARTY_ROLES = ['mother', 'father', 'spouse', 'informant'] as const;

/** One registration per (source, event type, registration number): the key `insertCivilEvent` is idempotent on. */
const keyOf = (row: Row) => JSON.stringify([row.source ?? 'local', row.event_type, row.registration_number]);

/** Lines whose registration an earlier row of the file (this batch or an earlier one) had, with that row's line. */
async function repeatedKeys(db: Db, keys: string, rows: StagedRow[]): Promise<Map<number, number>> {
  const staged = JSON.stringify(rows.map(({ line, row }) => ({ line, key: keyOf(row) })));
  const found = await queryRows<{ line: number; first: number }>(
    db,
    sql`WITH k AS (SELECT * FROM jsonb_to_recordset(${staged}::jsonb) AS x(line integer, key text)),
             first AS (SELECT key, min(line) AS line FROM k GROUP BY key),
             recorded AS (INSERT INTO ${sql.raw(keys)} SELECT key, line FROM first ON CONFLICT (key) DO NOTHING)
        SELECT k.line, coalesce(seen.line, f.line) AS first
        FROM k JOIN first f ON f.key = k.key LEFT JOIN ${sql.raw(keys)} seen ON seen.key = k.key
        WHERE seen.line IS NOT NULL OR k.line > f.line`,
  );
  return new Map(found.map((r) => [Number(r.line), Number(r.first)]));
}

/** The keys of the batch's registrations that are already recorded. */
async function recordedKeys(db: Db, rows: StagedRow[]): Promise<Set<string>> {
  const staged = JSON.stringify(rows.map(({ row }) => ({ source: row.source ?? 'local', event_type: row.event_type, number: row.registration_number })));
  const found = await queryRows<{ source: string; event_type: string; number: string }>(
    db,
    sql`SELECT x.source, x.event_type, x.number FROM jsonb_to_recordset(${staged}::jsonb) AS x(source text, event_type text, number text)
        WHERE EXISTS (SELECT 1 FROM civil_events e WHERE e.source = x.source AND e.event_type = x.event_type AND e.registration_number = x.number)`,
  );
  return new Set(found.map((r) => JSON.stringify([r.source, r.event_type, r.number])));
}

interface Holder {
  id: string;
  deleted: boolean;
}

/** The registry person holding an identifier, looked up row by row: an earlier row of the batch may have created them. */
async function holderOf(db: Db, type: string, value: string): Promise<Holder | undefined> {
  const [row] = await queryRows<Holder>(
    db,
    sql`SELECT i.id, i.deleted_at IS NOT NULL AS deleted FROM identifiers d JOIN individuals i ON i.id = d.individual_id
        WHERE d.type = ${type} AND d.value = ${value}`,
  );
  return row;
}

async function locationId(db: Db, code: string): Promise<string | undefined> {
  const [row] = await queryRows<{ id: string }>(db, sql`SELECT id FROM locations WHERE code = ${code} AND deleted_at IS NULL`);
  return row?.id;
}

/**
 * The identifier a row gives under `prefix`. The value names the person; a type without a value names no one (so a
 * mapping constant can give the type of every row's identifier, given or not), a value without a type is refused.
 */
function identifierOf(row: Row, prefix: string, issues: Omit<RowIssue, 'line'>[]): { type: string; value: string } | undefined {
  const [typeField, valueField] = [`${prefix}identifier_type`, `${prefix}identifier_value`];
  const [type, value] = [row[typeField] as string | undefined, row[valueField] as string | undefined];
  if (value === undefined) return undefined;
  if (type === undefined) {
    issues.push({ column: typeField, reason: `${typeField} is required with ${valueField}` });
    return undefined;
  }
  return { type, value };
}

/**
 * A row as the admin API's input: people and places named by identifier and code become registry ids. A parent,
 * spouse or informant not in the registry is kept as the registration names them (their identifier); the subject
 * must be in the registry, except the newborn of a birth, who is created from the row's names.
 */
async function inputOf(db: Db, row: Row): Promise<{ input: CivilEventInput } | { issues: Omit<RowIssue, 'line'>[] }> {
  const issues: Omit<RowIssue, 'line'>[] = [];
  const eventType = row.event_type as CivilEventType;
  const id = identifierOf(row, '', issues);
  const holder = id && (await holderOf(db, id.type, id.value));
  if (holder?.deleted) issues.push({ column: 'identifier_value', reason: 'the individual with this identifier has been deleted' });
  let subject: CivilEventInput['subject'] | undefined;
  if (holder) subject = { individual_id: holder.id };
  else if (eventType !== 'birth') {
    if (id) issues.push({ column: 'identifier_value', reason: `no individual with ${id.type} ${id.value}` });
    else if (!issues.some((i) => i.column?.startsWith('identifier_'))) {
      issues.push({ column: 'identifier_value', reason: `the person the ${eventType} is about: identifier_type and identifier_value are required` });
    }
  } else {
    for (const name of ['given_name', 'family_name'] as const) {
      if (row[name] === undefined) issues.push({ column: name, reason: `${name} is required for a newborn not in the registry` });
    }
    const location = row.location_code === undefined ? undefined : await locationId(db, row.location_code as string);
    if (row.location_code !== undefined && !location) issues.push({ column: 'location_code', reason: `no location with code ${row.location_code}` });
    const person: IndividualInput = {
      given_name: row.given_name as string,
      family_name: row.family_name as string,
      ...(row.middle_name === undefined ? {} : { middle_name: row.middle_name as string }),
      ...(row.sex === undefined ? {} : { sex: row.sex as IndividualInput['sex'] }),
      ...(location ? { location_id: location } : {}),
      birth_date: row.event_date as string,
      identifiers: id ? [id] : [],
    };
    subject = { individual: person };
  }
  const place = row.place_code === undefined ? undefined : await locationId(db, row.place_code as string);
  if (row.place_code !== undefined && !place) issues.push({ column: 'place_code', reason: `no location with code ${row.place_code}` });
  const parties: NonNullable<CivilEventInput['parties']> = [];
  for (const role of PARTY_ROLES) {
    const partyId = identifierOf(row, `${role}_`, issues);
    if (!partyId) continue;
    const party = await holderOf(db, partyId.type, partyId.value);
    parties.push(party && !party.deleted ? { role, individual_id: party.id } : { role, identifiers: [partyId] });
  }
  if (issues.length > 0 || !subject) return { issues };
  return {
    input: {
      event_type: eventType,
      registration_number: row.registration_number as string,
      event_date: row.event_date as string,
      ...(row.registration_date === undefined ? {} : { registration_date: row.registration_date as string }),
      ...(place ? { place_id: place } : {}),
      subject,
      ...(parties.length > 0 ? { parties } : {}),
      ...(row.add_to_household === undefined ? {} : { add_to_household: row.add_to_household as boolean }),
    },
  };
}

/** The file column a refusal of the registry (a JSON Pointer into the API input) is about. */
function columnOf(pointer: string | undefined, input: CivilEventInput): string | undefined {
  if (!pointer) return undefined;
  const party = /^\/parties\/(\d+)/.exec(pointer);
  if (party) return `${input.parties?.[Number(party[1])]?.role}_identifier_value`;
  if (/\/(birth|death)_date$/.test(pointer)) return 'event_date';
  if (pointer === '/place_id') return 'place_code';
  const field = /^\/subject\/individual\/([a-z_]+)/.exec(pointer)?.[1];
  if (field === 'location_id') return 'location_code';
  if (field === 'identifiers') return 'identifier_value';
  return field ?? pointer.slice(1);
}

/**
 * Records one batch of civil events in the caller's transaction (`db` must be a transaction: each event gets a
 * savepoint). `keys` is the import's key table (createKeyTable). Already recorded registrations count as unchanged.
 */
export async function mergeCivilEvents(db: Db, actor: Actor, rows: StagedRow[], keys: string): Promise<BatchResult> {
  const issues: RowIssue[] = [];
  const repeated = await repeatedKeys(db, keys, rows);
  const recorded = await recordedKeys(db, rows);
  let inserted = 0;
  for (const { line, row } of rows) {
    const first = repeated.get(line);
    if (first !== undefined) {
      issues.push({ line, column: 'registration_number', reason: `duplicate of line ${first}` });
      continue;
    }
    if (recorded.has(keyOf(row))) continue;
    const converted = await inputOf(db, row);
    if ('issues' in converted) {
      issues.push(...converted.issues.map((issue) => ({ line, ...issue })));
      continue;
    }
    const { input } = converted;
    try {
      const created = await db.transaction((tx) => insertCivilEvent(tx, actor, input, { source: (row.source as string | undefined) ?? 'local' }));
      if (created) inserted++;
    } catch (err) {
      if (!(err instanceof HubError)) throw err;
      const column = columnOf(err.issues[0]?.pointer, input);
      issues.push({ line, ...(column ? { column } : {}), reason: err.message });
    }
  }
  return { inserted, updated: 0, flagged: 0, issues };
}
