import type { Bundle, Patient } from '@medplum/fhirtypes';
import { Client } from 'fhir-kit-client';
import type { ExternalPerson, PersonQuery, PersonSource } from '../../registry/external-people.js';
import { outbound } from '../../security/outbound.js';

export interface FhirSourceOptions {
  /** Base URL of the FHIR R4 server, e.g. https://cr.example.org/fhir. */
  baseUrl: string;
  bearerToken?: string;
  /** Pages followed at most for one search (each page is one request). */
  maxPages?: number;
  /** `_count` asked of the server (default 50). */
  pageSize?: number;
}

const SEXES = ['male', 'female', 'other', 'unknown'];
const DAY = /^\d{4}-\d{2}-\d{2}/;

/** A Patient from another server as an external person; undefined when it has no family and given name to match on. */
export function toExternalPerson(patient: Patient, baseUrl: string): ExternalPerson | undefined {
  const name = patient.name?.find((n) => n.use === 'official') ?? patient.name?.[0];
  const [given, ...middle] = name?.given ?? [];
  if (!name?.family || !given || !patient.id) return undefined;
  return {
    source: `${baseUrl.replace(/\/$/, '')}/Patient/${patient.id}`,
    identifiers: (patient.identifier ?? []).flatMap((i) => (i.system && i.value ? [{ system: i.system, value: i.value }] : [])),
    given_name: given,
    middle_name: middle.length > 0 ? middle.join(' ') : null,
    family_name: name.family,
    sex: (SEXES.includes(patient.gender ?? '') ? patient.gender : 'unknown') as ExternalPerson['sex'],
    birth_date: patient.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate) ? patient.birthDate : null,
    death_date: patient.deceasedDateTime && DAY.test(patient.deceasedDateTime) ? patient.deceasedDateTime.slice(0, 10) : null,
  };
}

/**
 * Looks people up in an external FHIR R4 server (an OpenHIE client registry, HAPI, Medplum …) with
 * fhir-kit-client: a Patient search by identifier or demographics, following `next` links up to the limit.
 */
export class FhirPersonSource implements PersonSource {
  private readonly client: Client;

  constructor(private readonly options: FhirSourceOptions) {
    // fhir-kit-client calls the global fetch with these options: the outbound policy's dispatcher checks each
    // connection (next links included) and redirects are not followed.
    const policy = outbound();
    policy.parse(options.baseUrl);
    this.client = new Client({
      baseUrl: options.baseUrl,
      requestOptions: { dispatcher: policy.dispatcher, redirect: 'manual' },
      ...(options.bearerToken ? { bearerToken: options.bearerToken } : {}),
    });
  }

  async find(query: PersonQuery, limit: number): Promise<ExternalPerson[]> {
    const searchParams: Record<string, string> = { _count: String(Math.min(limit, this.options.pageSize ?? 50)) };
    if (query.identifier) searchParams.identifier = `${query.identifier.system}|${query.identifier.value}`;
    if (query.family_name) searchParams.family = query.family_name;
    if (query.given_name) searchParams.given = query.given_name;
    if (query.birth_date) searchParams.birthdate = query.birth_date;
    if (query.sex) searchParams.gender = query.sex;
    const found: ExternalPerson[] = [];
    let bundle = (await this.client.search({ resourceType: 'Patient', searchParams })) as unknown as Bundle;
    for (let page = 1; ; page++) {
      for (const entry of bundle.entry ?? []) {
        if (entry.search?.mode !== undefined && entry.search.mode !== 'match') continue;
        const person = entry.resource?.resourceType === 'Patient' ? toExternalPerson(entry.resource, this.options.baseUrl) : undefined;
        if (person) found.push(person);
        if (found.length >= limit) return found;
      }
      const next = page < (this.options.maxPages ?? 10) ? this.client.nextPage({ bundle: bundle as never }) : undefined;
      if (!next) return found;
      bundle = (await next) as unknown as Bundle;
    }
  }
}
