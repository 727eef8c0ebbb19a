import { and, asc, count, eq, gt, gte, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, isUuid, toPage, type Page } from '../db/keyset.js';
import { inLocations, subtreeOf } from '../db/location-tree.js';
import { groupMembers, groups, identifiers, individuals } from '../db/schema/index.js';
import { unprocessable } from '../errors.js';
import { suspendBenefitsOfDeceased } from '../programmes/beneficiaries.js';
import type { Actor } from '../security/actor.js';
import { assertLocationInScope, withinScope } from '../security/geo-scope.js';
import { flagProbableDuplicates } from './duplicate-flags.js';
import type { Identifier, Individual, IndividualInput, IndividualPatch } from './schemas.js';
import { recordGroupVersion, recordVersion } from './record-versions.js';
import { attributeConditions, birthDatesForAge, COUNT_CAP, FUZZY_CANDIDATES, sameName, similarNames } from './search.js';
import { checkReadable, checkWritable } from './versioning.js';

type Row = typeof individuals.$inferSelect;

export function toIndividual(row: Row, ids: Identifier[]): Individual {
  return {
    id: row.id,
    given_name: row.givenName,
    family_name: row.familyName,
    middle_name: row.middleName,
    sex: row.sex as Individual['sex'],
    birth_date: row.birthDate,
    death_date: row.deathDate,
    location_id: row.locationId,
    phone: row.phone,
    email: row.email,
    attributes: row.attributes,
    identifiers: ids,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** Identifiers of each individual, sorted by type then value (shared with the FHIR search). */
export async function identifiersOf(db: Db, individualIds: string[]): Promise<Map<string, Identifier[]>> {
  const byIndividual = new Map<string, Identifier[]>(individualIds.map((id) => [id, []]));
  if (individualIds.length === 0) return byIndividual;
  const rows = await db
    .select({ individualId: identifiers.individualId, type: identifiers.type, value: identifiers.value })
    .from(identifiers)
    .where(inArray(identifiers.individualId, individualIds))
    .orderBy(asc(identifiers.type), asc(identifiers.value));
  for (const row of rows) byIndividual.get(row.individualId)?.push({ type: row.type, value: row.value });
  return byIndividual;
}

/** Rules JSON Schema cannot express; `pointer` prefixes paths when the individual is nested in a group. */
function validateIndividual(input: IndividualInput, pointer: string) {
  const today = new Date().toISOString().slice(0, 10);
  if (input.birth_date && input.birth_date > today) throw unprocessable('birth_date is in the future', `${pointer}/birth_date`);
  if (input.birth_date && input.death_date && input.death_date < input.birth_date) {
    throw unprocessable('death_date is before birth_date', `${pointer}/death_date`);
  }
  const seen = new Set<string>();
  (input.identifiers ?? []).forEach((id, i) => {
    const key = `${id.type}\u0000${id.value}`;
    if (seen.has(key)) throw unprocessable(`identifier ${id.type} ${id.value} is listed twice`, `${pointer}/identifiers/${i}`);
    seen.add(key);
  });
}

/** Insert columns from API input (a create, or an inline member of a new group). */
function columnsOf(input: IndividualInput) {
  return {
    givenName: input.given_name,
    familyName: input.family_name,
    middleName: input.middle_name ?? null,
    sex: input.sex ?? 'unknown',
    birthDate: input.birth_date ?? null,
    deathDate: input.death_date ?? null,
    locationId: input.location_id ?? null,
    phone: input.phone ?? null,
    email: input.email ?? null,
    attributes: input.attributes ?? {},
  };
}

async function replaceIdentifiers(tx: Db, individualId: string, list: Identifier[]) {
  await tx.delete(identifiers).where(eq(identifiers.individualId, individualId));
  if (list.length > 0) {
    await tx.insert(identifiers).values(list.map((i) => ({ individualId, type: i.type, value: i.value })));
  }
}

/** Creates an individual inside an open transaction (also used when a group is created with new members). */
export async function insertIndividual(tx: Db, actor: Actor, input: IndividualInput, pointer = ''): Promise<Individual> {
  validateIndividual(input, pointer);
  await assertLocationInScope(tx, actor, input.location_id ?? null, `${pointer}/location_id`);
  const [row] = await tx.insert(individuals).values(columnsOf(input)).returning();
  const ids = sortIdentifiers(input.identifiers ?? []);
  await replaceIdentifiers(tx, row!.id, ids);
  const created = toIndividual(row!, ids);
  await appendAudit(tx, actor, { action: 'individual.create', entityType: 'individual', entityId: created.id, after: created });
  await recordVersion(tx, actor, 'individual', created);
  await flagProbableDuplicates(tx, sql`(SELECT ${created.id}::uuid)`);
  return created;
}

export function createIndividual(db: Db, actor: Actor, input: IndividualInput): Promise<Individual> {
  return db.transaction((tx) => insertIndividual(tx, actor, input));
}

export async function getIndividual(db: Db, actor: Actor, id: string): Promise<Individual> {
  const [row] = await db
    .select()
    .from(individuals)
    .where(and(eq(individuals.id, id), withinScope(actor, individuals.locationId)));
  const found = checkReadable(row, 'individual', id);
  return toIndividual(found, (await identifiersOf(db, [id])).get(id)!);
}

async function lockIndividual(tx: Db, actor: Actor, id: string, expectedVersion: number | undefined) {
  const [row] = await tx
    .select()
    .from(individuals)
    .where(and(eq(individuals.id, id), withinScope(actor, individuals.locationId)))
    .for('update');
  return checkWritable(row, 'individual', id, expectedVersion);
}

export function updateIndividual(
  db: Db,
  actor: Actor,
  id: string,
  expectedVersion: number | undefined,
  patch: IndividualPatch,
  options: { deathReason?: string } = {},
): Promise<Individual> {
  return db.transaction(async (tx) => {
    const current = await lockIndividual(tx, actor, id, expectedVersion);
    const before = toIndividual(current, (await identifiersOf(tx, [id])).get(id)!);
    const { version: _version, identifiers: newIds, ...fields } = patch;
    const merged: IndividualInput = { ...before, ...fields };
    // The new identifier list is checked too (listed twice → 422), not only the one being replaced.
    validateIndividual({ ...merged, identifiers: newIds ?? before.identifiers }, '');
    if (fields.location_id !== undefined) {
      await assertLocationInScope(tx, actor, fields.location_id, '/location_id');
    }
    const [row] = await tx
      .update(individuals)
      .set({ ...columnsOf(merged), version: current.version + 1, updatedAt: new Date() })
      .where(eq(individuals.id, id))
      .returning();
    const ids = newIds === undefined ? before.identifiers : sortIdentifiers(newIds);
    if (newIds !== undefined) await replaceIdentifiers(tx, id, ids);
    const after = toIndividual(row!, ids);
    await appendAudit(tx, actor, { action: 'individual.update', entityType: 'individual', entityId: id, before, after });
    if (after.death_date && (!before.death_date || options.deathReason)) {
      await suspendBenefitsOfDeceased(tx, actor, id, after.death_date, options.deathReason);
    }
    await recordVersion(tx, actor, 'individual', after);
    await flagProbableDuplicates(tx, sql`(SELECT ${id}::uuid)`);
    return after;
  });
}

/** Soft delete: the record stays (and keeps its identifiers reserved) but reads answer 410 Gone. */
export function deleteIndividual(db: Db, actor: Actor, id: string, expectedVersion: number | undefined): Promise<void> {
  return db.transaction(async (tx) => {
    const current = await lockIndividual(tx, actor, id, expectedVersion);
    const before = toIndividual(current, (await identifiersOf(tx, [id])).get(id)!);
    const today = new Date().toISOString().slice(0, 10);
    const deletedAt = new Date();
    await tx
      .update(individuals)
      .set({ deletedAt, version: current.version + 1, updatedAt: deletedAt })
      .where(eq(individuals.id, id));
    const ended = await tx
      .update(groupMembers)
      .set({ endDate: today })
      .where(and(eq(groupMembers.individualId, id), isNull(groupMembers.endDate)))
      .returning({ groupId: groupMembers.groupId });
    await appendAudit(tx, actor, { action: 'individual.delete', entityType: 'individual', entityId: id, before });
    await recordVersion(tx, actor, 'individual', { ...before, version: current.version + 1, updated_at: deletedAt.toISOString() }, deletedAt);
    // The households change too: their version moves on (so cached ETags go stale) and the change is audited.
    for (const { groupId } of ended) {
      await tx
        .update(groups)
        .set({ version: sql`${groups.version} + 1`, updatedAt: new Date() })
        .where(eq(groups.id, groupId));
      await appendAudit(tx, actor, {
        action: 'group.member.end',
        entityType: 'group',
        entityId: groupId,
        after: { individual_id: id, end_date: today, reason: 'individual deleted' },
      });
      await recordGroupVersion(tx, actor, groupId);
    }
  });
}

export interface IndividualFilters {
  location_id?: string;
  sex?: string;
  identifier_type?: string;
  identifier_value?: string;
  given_name?: string;
  family_name?: string;
  name?: string;
  birth_date_from?: string;
  birth_date_to?: string;
  age_min?: number;
  age_max?: number;
  group_id?: string;
  attr?: string[];
}

/** Filters with the location subtree already read (see inLocations). */
export interface IndividualSearch extends IndividualFilters {
  location_ids?: string[];
}

export async function resolveIndividualFilters(db: Db, filters: IndividualFilters): Promise<IndividualSearch> {
  return filters.location_id ? { ...filters, location_ids: await subtreeOf(db, filters.location_id) } : filters;
}

/** The WHERE conditions of a search, without the cursor (so a count uses the same ones). */
function searchConditions(db: Db, actor: Actor, filters: IndividualSearch): (SQL | undefined)[] {
  const conditions: (SQL | undefined)[] = [isNull(individuals.deletedAt), withinScope(actor, individuals.locationId)];
  if (filters.location_ids) conditions.push(inLocations(individuals.locationId, filters.location_ids));
  if (filters.sex) conditions.push(eq(individuals.sex, filters.sex));
  if (filters.given_name) conditions.push(sameName(individuals.givenName, filters.given_name));
  if (filters.family_name) conditions.push(sameName(individuals.familyName, filters.family_name));
  if (filters.birth_date_from) conditions.push(gte(individuals.birthDate, filters.birth_date_from));
  if (filters.birth_date_to) conditions.push(lte(individuals.birthDate, filters.birth_date_to));
  const ages = birthDatesForAge(filters.age_min, filters.age_max);
  if (ages.from) conditions.push(gte(individuals.birthDate, ages.from));
  if (ages.to) conditions.push(lte(individuals.birthDate, ages.to));
  if (filters.identifier_type || filters.identifier_value) {
    const idConditions = [
      filters.identifier_type ? eq(identifiers.type, filters.identifier_type) : undefined,
      filters.identifier_value ? eq(identifiers.value, filters.identifier_value) : undefined,
    ];
    conditions.push(
      inArray(individuals.id, db.select({ id: identifiers.individualId }).from(identifiers).where(and(...idConditions))),
    );
  }
  if (filters.group_id) {
    conditions.push(
      inArray(
        individuals.id,
        db
          .select({ id: groupMembers.individualId })
          .from(groupMembers)
          .where(and(eq(groupMembers.groupId, filters.group_id), isNull(groupMembers.endDate))),
      ),
    );
  }
  conditions.push(...attributeConditions(individuals.attributes, filters.attr));
  return conditions;
}

/**
 * Fuzzy search: the most similar names are scored in search_names, then each name's people (every other condition
 * applied) are read from individuals_search_name_idx in id order, at most FUZZY_CANDIDATES of them: the bounded set
 * of the most similar people, ties broken by name, then id. Ranking names rather than people keeps the work
 * proportional to the distinct names a query matches, not to how many people bear them; and with ties broken by
 * name the names are read in the final order, so reading stops once the bound is reached (broken by id alone, every
 * equally similar name — all "<any given name> nkurunziza" for "nkurunziz" — would be read in full and sorted).
 * Pages are then taken from that set in id order.
 */
function fuzzyCandidates(conditions: (SQL | undefined)[], name: string): SQL {
  return sql`SELECT p.id FROM (SELECT n.name, n.sim FROM (${similarNames(name)}) n ORDER BY n.sim DESC, n.name) n
    CROSS JOIN LATERAL (
      SELECT ${individuals.id} AS id FROM ${individuals}
      WHERE ${and(sql`${individuals.searchName} = n.name`, ...conditions)}
      ORDER BY ${individuals.id} LIMIT ${FUZZY_CANDIDATES}) p
    ORDER BY n.sim DESC, n.name, p.id LIMIT ${FUZZY_CANDIDATES}`;
}

/** Everything a search matches (fuzzy: its bounded candidate set), for the count. */
function matchConditions(db: Db, actor: Actor, filters: IndividualSearch): (SQL | undefined)[] {
  const conditions = searchConditions(db, actor, filters);
  if (!filters.name) return conditions;
  return [sql`${individuals.id} IN (${fuzzyCandidates(conditions, filters.name)})`];
}

/** The query a list page runs; exported so tests can EXPLAIN exactly what the API executes. */
export function searchQuery(db: Db, actor: Actor, filters: IndividualSearch, limit: number, cursor: string | undefined) {
  const conditions = searchConditions(db, actor, filters);
  const after = cursor === undefined ? undefined : decodeCursor(cursor, isUuid);
  if (filters.name) {
    // The page's ids come from the candidate set alone, so the plan cannot walk the whole primary key for them.
    const page = sql`SELECT c.id FROM (${fuzzyCandidates(conditions, filters.name)}) c
      ${after === undefined ? sql`` : sql`WHERE c.id > ${after}`} ORDER BY c.id LIMIT ${limit + 1}`;
    return db.select().from(individuals).where(sql`${individuals.id} IN (${page})`).orderBy(asc(individuals.id));
  }
  if (after !== undefined) conditions.push(gt(individuals.id, after));
  return db
    .select()
    .from(individuals)
    .where(and(...conditions))
    .orderBy(asc(individuals.id))
    .limit(limit + 1);
}

export async function listIndividuals(
  db: Db,
  actor: Actor,
  filters: IndividualFilters,
  limit: number,
  cursor: string | undefined,
  withTotal = false,
): Promise<Page<Individual> & { total?: number; total_capped?: boolean }> {
  const search = await resolveIndividualFilters(db, filters);
  const rows = await searchQuery(db, actor, search, limit, cursor);
  const ids = await identifiersOf(db, rows.slice(0, limit).map((r) => r.id));
  const page = toPage(
    rows.map((r) => toIndividual(r, ids.get(r.id) ?? [])),
    limit,
    (i) => i.id,
  );
  if (!withTotal) return page;
  const matches = db
    .select({ id: individuals.id })
    .from(individuals)
    .where(and(...matchConditions(db, actor, search)))
    .limit(COUNT_CAP + 1)
    .as('matches');
  const [counted] = await db.select({ total: count() }).from(matches);
  const total = counted?.total ?? 0;
  return { ...page, total: Math.min(total, COUNT_CAP), total_capped: total > COUNT_CAP };
}

function sortIdentifiers(list: Identifier[]): Identifier[] {
  return [...list].sort((a, b) => a.type.localeCompare(b.type) || a.value.localeCompare(b.value));
}
