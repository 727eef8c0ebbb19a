import type { Group, Location, Patient, Resource } from '@medplum/fhirtypes';
import { inArray, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { isUuid } from '../db/keyset.js';
import { individuals } from '../db/schema/index.js';
import { notFound } from '../errors.js';
import { getGroup } from '../registry/groups.js';
import { getIndividual } from '../registry/individuals.js';
import { ancestryOf } from '../registry/location-ancestry.js';
import { getLocation } from '../registry/locations.js';
import type { Individual } from '../registry/schemas.js';
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
import type { IdentifierSystems } from './identifier-systems.js';
import { toGroup } from './mappers/group.js';
import { toLocation } from './mappers/location.js';
import { toPatient } from './mappers/patient.js';
import { groupParameters } from './search/group.js';
import { locationParameters } from './search/location.js';
import type { SearchParameter } from './search/parameter.js';
import { patientParameters } from './search/patient.js';

export interface Page<R extends Resource> {
  resources: R[];
  more: boolean;
}

/** What the FHIR routes need of one resource type; each delegates to the registry, never to SQL of its own. */
export interface ResourceType<R extends Resource = Resource> {
  type: R['resourceType'];
  /** R4 TypeRestfulInteraction codes served for this type. */
  interactions: readonly ('read' | 'vread' | 'update' | 'history-instance' | 'create' | 'search-type')[];
  parameters: SearchParameter[];
  /** `_include` values supported. */
  includes: readonly string[];
  read(db: Db, actor: Actor, id: string): Promise<R>;
  search(db: Db, actor: Actor, selection: Selection): Promise<Page<R>>;
  count(db: Db, actor: Actor, where: SQL[]): Promise<number>;
  include(db: Db, actor: Actor, matches: R[], includes: string[]): Promise<Resource[]>;
}

/** Ids that are not uuids name nothing here: 404 without asking the database (which would refuse the cast). */
function checkId(type: string, id: string) {
  if (!isUuid(id)) throw notFound(type, id);
  return id.toLowerCase();
}

async function patientsOf(db: Db, people: Individual[], systems: IdentifierSystems): Promise<Patient[]> {
  const areas = await ancestryOf(db, people.flatMap((p) => (p.location_id ? [p.location_id] : [])));
  return people.map((p) => toPatient(p, p.location_id ? (areas.get(p.location_id) ?? []) : [], systems));
}

export function resourceTypes(systems: IdentifierSystems) {
  const patient: ResourceType<Patient> = {
    type: 'Patient',
    interactions: ['read', 'search-type'],
    parameters: patientParameters(systems),
    includes: [],
    read: async (db, actor, id) => (await patientsOf(db, [await getIndividual(db, actor, checkId('Patient', id))], systems))[0]!,
    search: async (db, actor, selection) => {
      const found = await findIndividuals(db, actor, selection);
      return { resources: await patientsOf(db, found.items, systems), more: found.more };
    },
    count: countIndividuals,
    include: async () => [],
  };

  const group: ResourceType<Group> = {
    type: 'Group',
    interactions: ['read', 'search-type'],
    parameters: groupParameters(),
    includes: ['Group:member', 'Group:member:Patient'],
    read: async (db, actor, id) => toGroup(await getGroup(db, actor, checkId('Group', id))),
    search: async (db, actor, selection) => {
      const found = await findGroups(db, actor, selection);
      return { resources: found.items.map(toGroup), more: found.more };
    },
    count: countGroups,
    /** The members of the groups on the page, each once, as the actor may see them (scope applies to them too). */
    include: async (db, actor, matches, includes) => {
      if (includes.length === 0) return [];
      const ids = [...new Set(matches.flatMap((g) => (g.member ?? []).map((m) => m.entity.reference!.slice('Patient/'.length))))];
      if (ids.length === 0) return [];
      const found = await findIndividuals(db, actor, { where: [inArray(individuals.id, ids)], limit: ids.length });
      return patientsOf(db, found.items, systems);
    },
  };

  const location: ResourceType<Location> = {
    type: 'Location',
    interactions: ['read', 'search-type'],
    parameters: locationParameters(),
    includes: [],
    read: async (db, actor, id) => toLocation(await getLocation(db, actor, checkId('Location', id))),
    search: async (db, actor, selection) => {
      const found = await findLocations(db, actor, selection);
      return { resources: found.items.map(toLocation), more: found.more };
    },
    count: countLocations,
    include: async () => [],
  };

  return [patient, group, location] as ResourceType[];
}
