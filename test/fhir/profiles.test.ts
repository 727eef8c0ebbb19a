import fs from 'node:fs';
import type { CodeSystem, NamingSystem, Resource } from '@medplum/fhirtypes';
import t from 'tap';
import { CANONICAL_BASE, CODE_SYSTEM, EXTENSION, IDENTIFIER_SYSTEM, PROFILE, SEARCH_PARAMETER } from '../../src/fhir/canonical.js';
import { OrganizationType } from '../../src/programmes/schemas.js';
import { MemberRole } from '../../src/registry/schemas.js';
import { expectValid } from '../helpers/fhir.js';

const dir = new URL('../../schemas/fhir/', import.meta.url);
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const resources = files.map((f) => [f, JSON.parse(fs.readFileSync(new URL(f, dir), 'utf8')) as Resource & { url?: string }] as const);

t.test('every definition in schemas/fhir is valid R4, named for its type and id', async (t) => {
  t.ok(files.length >= 10);
  for (const [file, resource] of resources) {
    expectValid(t, resource, file);
    t.equal(file, `${resource.resourceType}-${resource.id}.json`, `${file} is named <type>-<id>.json`);
    if (resource.url !== undefined) t.equal(resource.url, `${CANONICAL_BASE}/${resource.resourceType}/${resource.id}`, `${file} canonical url`);
  }
});

t.test('every canonical URL the server emits has its definition', async (t) => {
  const urls = new Set(resources.map(([, r]) => r.url).filter(Boolean));
  for (const url of [...Object.values(PROFILE), ...Object.values(EXTENSION), ...Object.values(CODE_SYSTEM), ...Object.values(SEARCH_PARAMETER)]) {
    t.ok(urls.has(url), `${url} is defined`);
  }
  const namingUris = new Set(
    resources.filter(([, r]) => r.resourceType === 'NamingSystem').flatMap(([, r]) => (r as NamingSystem).uniqueId.map((u) => u.value)),
  );
  for (const uri of [IDENTIFIER_SYSTEM.householdCode, IDENTIFIER_SYSTEM.locationCode, IDENTIFIER_SYSTEM.personIdentifier('NIN'), IDENTIFIER_SYSTEM.personIdentifier('BIRTH_REG_NO')]) {
    t.ok(namingUris.has(uri), `NamingSystem for ${uri}`);
  }
});

t.test('the household-role CodeSystem is exactly the registry roles', async (t) => {
  const roles = resources.find(([, r]) => r.url === CODE_SYSTEM.householdRole)![1] as CodeSystem;
  t.same(roles.concept!.map((c) => c.code).sort(), MemberRole.anyOf.map((r: { const: string }) => r.const).sort());
  t.equal(roles.content, 'complete');
});

t.test('the organization-type CodeSystem is exactly the registry types', async (t) => {
  const types = resources.find(([, r]) => r.url === CODE_SYSTEM.organizationType)![1] as CodeSystem;
  t.same(types.concept!.map((c) => c.code).sort(), OrganizationType.anyOf.map((r: { const: string }) => r.const).sort());
  t.equal(types.content, 'complete');
});

t.test('the README lists every definition file', async (t) => {
  const readme = fs.readFileSync(new URL('README.md', dir), 'utf8');
  for (const file of files) t.match(readme, file, `README mentions ${file}`);
});
