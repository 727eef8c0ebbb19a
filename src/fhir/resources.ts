import type { EpisodeOfCare, Group, Location, Organization, Patient, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { inArray, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { isUuid } from '../db/keyset.js';
import { groups, individuals, organizations } from '../db/schema/index.js';
import type { Position } from '../db/sorted-keyset.js';
import { notFound } from '../errors.js';
import { createGroup, getGroup, replaceGroup } from '../registry/groups.js';
import { historyOf, versionOf, visibleMembers, type RecordVersion } from '../registry/history.js';
import { createIndividual, getIndividual, updateIndividual } from '../registry/individuals.js';
import { ancestryOf } from '../registry/location-ancestry.js';
import { getLocation } from '../registry/locations.js';
import { mergedRecordsOf } from '../registry/merges.js';
import { countEnrolments, enrolmentVersions, findEnrolments, getEnrolment } from '../programmes/enrolments.js';
import { countOrganizations, findOrganizations, getOrganization } from '../programmes/organizations.js';
import { countRelationships, findRelationships, getRelationship, type Relationship } from '../registry/relationships.js';
import type { Organization as Operator } from '../programmes/schemas.js';
import type { Group as Household, Individual, Location as Area } from '../registry/schemas.js';
import {
  countGroups,
  countIndividuals,
  countLocations,
  findGroups,
  findIndividuals,
  findLocations,
  type Selection,
} from '../registry/scoped-search.js';
import type { Actor } from '../security/actor.js';
import { EXTENSION } from './canonical.js';
import type { IdentifierSystems } from './identifier-systems.js';
import { toEpisodeOfCare } from './mappers/episode-of-care.js';
import { fromGroup, toGroup } from './mappers/group.js';
import { toLocation } from './mappers/location.js';
import { toOrganization } from './mappers/organization.js';
import { fromPatient, toPatient } from './mappers/patient.js';
import { toRelatedPerson } from './mappers/related-person.js';
import { badRequest } from './outcome.js';
import { validateIncoming } from './validation.js';
import { episodeOfCareParameters } from './search/episode-of-care.js';
import { groupParameters } from './search/group.js';
import { locationParameters } from './search/location.js';
import { organizationParameters } from './search/organization.js';
import type { SearchParameter } from './search/parameter.js';
import { patientParameters } from './search/patient.js';
import { relatedPersonParameters } from './search/related-person.js';

/** One stored version, mapped; `deleted` when this version is the delete (its resource is the last state). */
export interface Version<R extends Resource> {
  resource: R;
  deleted: boolean;
}

export interface Page<R extends Resource> {
  resources: R[];
  /** Where the next page starts; absent on the last page. */
  next?: Position;
}

const pageOf = <T, R extends Resource>(found: { items: T[]; next?: Position }, resources: R[]): Page<R> => ({
  resources,
  ...(found.next ? { next: found.next } : {}),
});

/** What the FHIR routes need of one resource type; each delegates to the registry, never to SQL of its own. */
export interface ResourceType<R extends Resource = Resource> {
  type: R['resourceType'];
  /** R4 TypeRestfulInteraction codes served for this type. */
  interactions: readonly ('read' | 'vread' | 'update' | 'history-instance' | 'create' | 'search-type')[];
  parameters: SearchParameter[];
  /** `_include` values supported. */
  includes: readonly string[];
  /**
   * `_revinclude` values supported: `Type:parameter`, a reference parameter of another type pointing here. The
   * routes serve them with that type's own search, so the reader's scope applies to what is included.
   */
  revIncludes: readonly string[];
  read(db: Db, actor: Actor, id: string): Promise<R>;
  search(db: Db, actor: Actor, selection: Selection): Promise<Page<R>>;
  count(db: Db, actor: Actor, where: SQL[]): Promise<number>;
  include(db: Db, actor: Actor, matches: R[], includes: string[]): Promise<Resource[]>;
  /** Versions newest first (types with `history-instance`). */
  history?(db: Db, actor: Actor, id: string): Promise<Version<R>[]>;
  vread?(db: Db, actor: Actor, id: string, version: number): Promise<Version<R>>;
  /** Validates the body against R4, maps it and creates the record (types with `create`). */
  create?(db: Db, actor: Actor, body: unknown): Promise<R>;
  /** Replaces the record with the body (types with `update`); `expectedVersion` from If-Match. */
  update?(db: Db, actor: Actor, id: string, expectedVersion: number | undefined, body: unknown): Promise<R>;
}

/** Ids that are not uuids name nothing here: 404 without asking the database (which would refuse the cast). */
function checkId(type: string, id: string) {
  if (!isUuid(id)) throw notFound(type, id);
  return id.toLowerCase();
}

async function relatedPeopleOf(db: Db, relations: Relationship[], systems: IdentifierSystems): Promise<RelatedPerson[]> {
  const areas = await ancestryOf(db, relations.flatMap((r) => (r.person.location_id ? [r.person.location_id] : [])));
  return relations.map((r) => toRelatedPerson(r, r.person.location_id ? (areas.get(r.person.location_id) ?? []) : [], systems));
}

/**
 * People (current records or stored versions) as Patients: the address from the location tree, and a link to each
 * record merged into them by then (a version from before a merge does not name it).
 */
async function patientsOf(db: Db, actor: Actor, people: Individual[], systems: IdentifierSystems): Promise<Patient[]> {
  const areas = await ancestryOf(db, people.flatMap((p) => (p.location_id ? [p.location_id] : [])));
  const merged = await mergedRecordsOf(db, actor, [...new Set(people.map((p) => p.id))]);
  return people.map((p) => {
    const replaces = (merged.get(p.id) ?? []).filter((m) => Date.parse(m.at) <= Date.parse(p.updated_at)).map((m) => m.id);
    return toPatient(p, p.location_id ? (areas.get(p.location_id) ?? []) : [], systems, replaces);
  });
}

/** An update names the record it replaces: the body's id must be the one in the URL (R4 §3.1.0.4). */
function sameId(body: { id?: string }, id: string) {
  if (body.id === undefined) throw badRequest('the resource must carry its id', ['id']);
  if (body.id.toLowerCase() !== id) throw badRequest(`the resource id ${body.id} is not the id in the URL`, ['id']);
}

/** Stored versions carry the snapshot's own version and time, so meta matches what was served then. */
const deletedFlag = <T>(v: RecordVersion<T>) => v.deleted_at !== null;

export function resourceTypes(systems: IdentifierSystems) {
  const patientVersions = async (db: Db, actor: Actor, versions: RecordVersion<Individual>[]): Promise<Version<Patient>[]> => {
    const resources = await patientsOf(db, actor, versions.map((v) => v.snapshot), systems);
    return versions.map((v, i) => ({ resource: resources[i]!, deleted: deletedFlag(v) }));
  };
  const locationVersions = (versions: RecordVersion<Area>[]): Version<Location>[] =>
    versions.map((v) => ({ resource: toLocation(v.snapshot), deleted: deletedFlag(v) }));
  const organizationVersions = (versions: RecordVersion<Operator>[]): Version<Organization>[] =>
    versions.map((v) => ({ resource: toOrganization(v.snapshot), deleted: deletedFlag(v) }));
  const groupVersions = (db: Db, actor: Actor, versions: RecordVersion<Household>[]): Promise<Version<Group>[]> =>
    Promise.all(versions.map(async (v) => ({ resource: toGroup(await visibleMembers(db, actor, v.snapshot)), deleted: deletedFlag(v) })));

  /** Included resources by id, found by their type's own search (its visibility and geographic scope apply). */
  const patientsById = async (db: Db, actor: Actor, ids: string[]): Promise<Patient[]> => {
    if (ids.length === 0) return [];
    const found = await findIndividuals(db, actor, { where: [inArray(individuals.id, ids)], limit: ids.length });
    return patientsOf(db, actor, found.items, systems);
  };
  const groupsById = async (db: Db, actor: Actor, ids: string[]): Promise<Group[]> =>
    ids.length === 0 ? [] : (await findGroups(db, actor, { where: [inArray(groups.id, ids)], limit: ids.length })).items.map(toGroup);
  const organizationsById = async (db: Db, ids: string[]): Promise<Organization[]> =>
    ids.length === 0 ? [] : (await findOrganizations(db, { where: [inArray(organizations.id, ids)], limit: ids.length })).items.map(toOrganization);

  const patient: ResourceType<Patient> = {
    type: 'Patient',
    interactions: ['read', 'vread', 'update', 'history-instance', 'create', 'search-type'],
    parameters: patientParameters(systems),
    includes: [],
    revIncludes: ['Group:member', 'RelatedPerson:patient', 'EpisodeOfCare:patient', 'EpisodeOfCare:beneficiary'],
    read: async (db, actor, id) => (await patientsOf(db, actor, [await getIndividual(db, actor, checkId('Patient', id))], systems))[0]!,
    search: async (db, actor, selection) => {
      const found = await findIndividuals(db, actor, selection);
      return pageOf(found, await patientsOf(db, actor, found.items, systems));
    },
    count: countIndividuals,
    include: async () => [],
    history: async (db, actor, id) => patientVersions(db, actor, await historyOf(db, actor, 'individual', checkId('Patient', id))),
    vread: async (db, actor, id, version) =>
      (await patientVersions(db, actor, [await versionOf(db, actor, 'individual', checkId('Patient', id), version)]))[0]!,
    create: async (db, actor, body) => {
      const input = fromPatient(await validateIncoming<Patient>(body, 'Patient'), systems);
      return (await patientsOf(db, actor, [await createIndividual(db, actor, input)], systems))[0]!;
    },
    update: async (db, actor, id, expectedVersion, body) => {
      const resource = await validateIncoming<Patient>(body, 'Patient');
      const key = checkId('Patient', id);
      sameId(resource, key);
      const updated = await updateIndividual(db, actor, key, expectedVersion, fromPatient(resource, systems));
      return (await patientsOf(db, actor, [updated], systems))[0]!;
    },
  };

  const group: ResourceType<Group> = {
    type: 'Group',
    interactions: ['read', 'vread', 'update', 'history-instance', 'create', 'search-type'],
    parameters: groupParameters(),
    includes: ['Group:member', 'Group:member:Patient'],
    revIncludes: ['EpisodeOfCare:beneficiary'],
    read: async (db, actor, id) => toGroup(await getGroup(db, actor, checkId('Group', id))),
    search: async (db, actor, selection) => {
      const found = await findGroups(db, actor, selection);
      return pageOf(found, found.items.map(toGroup));
    },
    count: countGroups,
    /** The members of the groups on the page, each once, as the actor may see them (scope applies to them too). */
    include: async (db, actor, matches, includes) => {
      if (includes.length === 0) return [];
      return patientsById(db, actor, [...new Set(matches.flatMap((g) => (g.member ?? []).map((m) => m.entity.reference!.slice('Patient/'.length))))]);
    },
    history: async (db, actor, id) => groupVersions(db, actor, await historyOf(db, actor, 'group', checkId('Group', id))),
    vread: async (db, actor, id, version) =>
      (await groupVersions(db, actor, [await versionOf(db, actor, 'group', checkId('Group', id), version)]))[0]!,
    create: async (db, actor, body) => toGroup(await createGroup(db, actor, fromGroup(await validateIncoming<Group>(body, 'Group')))),
    update: async (db, actor, id, expectedVersion, body) => {
      const resource = await validateIncoming<Group>(body, 'Group');
      const key = checkId('Group', id);
      sameId(resource, key);
      return toGroup(await replaceGroup(db, actor, key, expectedVersion, fromGroup(resource)));
    },
  };

  const location: ResourceType<Location> = {
    type: 'Location',
    interactions: ['read', 'vread', 'history-instance', 'search-type'],
    parameters: locationParameters(),
    includes: [],
    revIncludes: ['Location:partof'],
    read: async (db, actor, id) => toLocation(await getLocation(db, actor, checkId('Location', id))),
    search: async (db, actor, selection) => {
      const found = await findLocations(db, actor, selection);
      return pageOf(found, found.items.map(toLocation));
    },
    count: countLocations,
    include: async () => [],
    history: async (db, actor, id) => locationVersions(await historyOf(db, actor, 'location', checkId('Location', id))),
    vread: async (db, actor, id, version) => locationVersions([await versionOf(db, actor, 'location', checkId('Location', id), version)])[0]!,
  };

  const relatedPerson: ResourceType<RelatedPerson> = {
    type: 'RelatedPerson',
    interactions: ['read', 'search-type'],
    parameters: relatedPersonParameters(),
    includes: [],
    revIncludes: [],
    read: async (db, actor, id) => (await relatedPeopleOf(db, [await getRelationship(db, actor, checkId('RelatedPerson', id))], systems))[0]!,
    search: async (db, actor, selection) => {
      const found = await findRelationships(db, actor, selection);
      return pageOf(found, await relatedPeopleOf(db, found.items, systems));
    },
    count: countRelationships,
    include: async () => [],
  };

  const organization: ResourceType<Organization> = {
    type: 'Organization',
    interactions: ['read', 'vread', 'history-instance', 'search-type'],
    parameters: organizationParameters(),
    includes: [],
    revIncludes: ['EpisodeOfCare:organization'],
    read: async (db, _actor, id) => toOrganization(await getOrganization(db, checkId('Organization', id))),
    search: async (db, _actor, selection) => {
      const found = await findOrganizations(db, selection);
      return pageOf(found, found.items.map(toOrganization));
    },
    count: (db, _actor, where) => countOrganizations(db, where),
    include: async () => [],
    history: async (db, actor, id) => organizationVersions(await historyOf(db, actor, 'organization', checkId('Organization', id))),
    vread: async (db, actor, id, version) =>
      organizationVersions([await versionOf(db, actor, 'organization', checkId('Organization', id), version)])[0]!,
  };

  const episodeOfCare: ResourceType<EpisodeOfCare> = {
    type: 'EpisodeOfCare',
    interactions: ['read', 'vread', 'history-instance', 'search-type'],
    parameters: episodeOfCareParameters(),
    includes: ['EpisodeOfCare:patient', 'EpisodeOfCare:beneficiary', 'EpisodeOfCare:organization'],
    revIncludes: [],
    read: async (db, actor, id) => toEpisodeOfCare(await getEnrolment(db, actor, checkId('EpisodeOfCare', id))),
    search: async (db, actor, selection) => {
      const found = await findEnrolments(db, actor, selection);
      return pageOf(found, found.items.map(toEpisodeOfCare));
    },
    count: countEnrolments,
    /**
     * The people (patient), enrolled subjects (beneficiary: the Patient, or the household's Group) and operators
     * (organization) the enrolments on the page refer to, each fetched once by its own type's rules of visibility.
     */
    include: async (db, actor, matches, includes) => {
      const wanted = new Set(includes.map((value) => value.slice('EpisodeOfCare:'.length)));
      const references = matches.flatMap((episode) => {
        const group = episode.extension?.find((e) => e.url === EXTENSION.enrolledGroup)?.valueReference?.reference;
        return [
          ...(wanted.has('patient') || (wanted.has('beneficiary') && !group) ? [episode.patient!.reference!] : []),
          ...(wanted.has('beneficiary') && group ? [group] : []),
          ...(wanted.has('organization') && episode.managingOrganization ? [episode.managingOrganization.reference!] : []),
        ];
      });
      const ids = (type: string) => [...new Set(references.filter((r) => r.startsWith(`${type}/`)).map((r) => r.slice(type.length + 1)))];
      return [
        ...(await patientsById(db, actor, ids('Patient'))),
        ...(await groupsById(db, actor, ids('Group'))),
        ...(await organizationsById(db, ids('Organization'))),
      ];
    },
    history: async (db, actor, id) =>
      (await enrolmentVersions(db, actor, checkId('EpisodeOfCare', id))).map((e) => ({ resource: toEpisodeOfCare(e), deleted: false })),
    vread: async (db, actor, id, version) => {
      const found = (await enrolmentVersions(db, actor, checkId('EpisodeOfCare', id))).find((e) => e.version === version);
      if (!found) throw notFound(`version ${version} of beneficiary`, id);
      return { resource: toEpisodeOfCare(found), deleted: false };
    },
  };

  return [patient, group, relatedPerson, location, organization, episodeOfCare] as ResourceType[];
}
