import type { Db } from '../db/client.js';
import type { Actor } from '../security/actor.js';
import { createIndividual, getIndividual, updateIndividual } from './individuals.js';
import type { Identifier, Individual } from './schemas.js';

/** A person as another registry holds them (a client registry, a CRVS, a health system). */
export interface ExternalPerson {
  /** Absolute URL of the record at its source, e.g. https://cr.example.org/fhir/Patient/123. */
  source: string;
  identifiers: { system: string; value: string }[];
  given_name: string;
  middle_name: string | null;
  family_name: string;
  sex: Individual['sex'];
  birth_date: string | null;
  death_date: string | null;
}

export interface PersonQuery {
  identifier?: { system: string; value: string };
  family_name?: string;
  given_name?: string;
  birth_date?: string;
  sex?: Individual['sex'];
}

/** Port: a registry the hub can look people up in. Adapters implement it (adapters/registry/fhir.ts). */
export interface PersonSource {
  find(query: PersonQuery, limit: number): Promise<ExternalPerson[]>;
}

/** Where a record came from: kept in `attributes.source_records`, one entry per source record linked. */
export interface SourceRecord {
  url: string;
  retrieved_at: string;
}

/** Identifiers of the external person whose system names a registry identifier type; others are not ours to keep. */
function knownIdentifiers(person: ExternalPerson, typeOf: (system: string) => string | undefined): Identifier[] {
  return person.identifiers.flatMap((id) => {
    const type = typeOf(id.system);
    return type ? [{ type, value: id.value }] : [];
  });
}

const provenance = (person: ExternalPerson): SourceRecord => ({ url: person.source, retrieved_at: new Date().toISOString() });

/** Creates a registry individual from an external record, remembering its source. */
export function importExternalPerson(
  db: Db,
  actor: Actor,
  person: ExternalPerson,
  typeOf: (system: string) => string | undefined,
): Promise<Individual> {
  return createIndividual(db, actor, {
    given_name: person.given_name,
    middle_name: person.middle_name,
    family_name: person.family_name,
    sex: person.sex,
    birth_date: person.birth_date,
    death_date: person.death_date,
    identifiers: knownIdentifiers(person, typeOf),
    attributes: { source_records: [provenance(person)] },
  });
}

/**
 * Links an existing individual to an external record: adds the identifiers it lacks and the source to its
 * `source_records`, under the usual optimistic concurrency (the version the caller read).
 */
export async function linkExternalPerson(
  db: Db,
  actor: Actor,
  individualId: string,
  expectedVersion: number,
  person: ExternalPerson,
  typeOf: (system: string) => string | undefined,
): Promise<Individual> {
  const current = await getIndividual(db, actor, individualId);
  const has = new Set(current.identifiers.map((i) => `${i.type}\u0000${i.value}`));
  const added = knownIdentifiers(person, typeOf).filter((i) => !has.has(`${i.type}\u0000${i.value}`));
  const sources = Array.isArray(current.attributes.source_records) ? (current.attributes.source_records as SourceRecord[]) : [];
  return updateIndividual(db, actor, individualId, expectedVersion, {
    identifiers: [...current.identifiers, ...added],
    attributes: { ...current.attributes, source_records: [...sources.filter((s) => s.url !== person.source), provenance(person)] },
  });
}
