import fs from 'node:fs';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { TOKEN_PATH } from '../http/oauth.js';
import { searchsetBundle } from './bundle.js';
import { IdentifierSystems } from './identifier-systems.js';
import { assertJsonWanted, FHIR_JSON, sendResource, wantsStrict } from './media.js';
import { capabilityStatement } from './metadata.js';
import { failureOf, outcome } from './outcome.js';
import { resourceTypes, type ResourceType } from './resources.js';
import { parseSearch } from './search/request.js';

export const FHIR_PREFIX = '/fhir';

const packageVersion = (): string =>
  (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const queryOf = (request: FastifyRequest) => new URL(request.url, 'http://hub.invalid').searchParams;

/** Weak ETag of a resource version, as FHIR servers send it (R4 §3.1.0.5.2): W/"3". */
const etagOf = (resource: Resource) => `W/"${resource.meta?.versionId}"`;

/** Routes stay out of the admin OpenAPI document: the CapabilityStatement describes them. */
const hidden = { hide: true };

/**
 * The FHIR R4 facade: thin routes over the resource definitions (resources.ts), every error an OperationOutcome.
 * Registered under /fhir.
 */
export async function fhirRoutes(app: FastifyInstance, { db, config }: { db: Db; config: Config }) {
  const base = `${config.publicUrl}${FHIR_PREFIX}`;
  const types = resourceTypes(new IdentifierSystems(config.fhirIdentifierSystems));
  const metadata = capabilityStatement(types, {
    base,
    tokenUrl: `${config.publicUrl}${TOKEN_PATH}`,
    softwareVersion: packageVersion(),
    startedAt: new Date().toISOString(),
  });

  app.addContentTypeParser([FHIR_JSON, 'application/json+fhir'], { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  // POST [type]/_search carries the search parameters as a form (R4 §3.1.0.8).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );

  app.setErrorHandler((err, request, reply) => {
    let failure = failureOf(err);
    if (!failure) {
      request.log.error({ err }, 'FHIR request failed');
      failure = { status: 500, body: outcome('exception', 'an unexpected error occurred; it has been logged') };
    }
    if (failure.challenge) reply.header('www-authenticate', failure.challenge);
    return sendResource(reply, queryOf(request), failure.status, failure.body);
  });
  app.setNotFoundHandler((request, reply) =>
    sendResource(reply, queryOf(request), 404, outcome('not-supported', `no FHIR interaction ${request.method} ${request.url.split('?')[0]}`)),
  );
  app.addHook('preHandler', async (request) => assertJsonWanted(request, queryOf(request)));

  app.get('/metadata', { config: { public: true }, schema: hidden }, async (request, reply) =>
    sendResource(reply, queryOf(request), 200, metadata),
  );

  for (const type of types) registerType(app, db, base, type);
}

function registerType(app: FastifyInstance, db: Db, base: string, type: ResourceType) {
  const read = { config: { scope: 'fhir:read' }, schema: hidden };

  async function search(request: FastifyRequest, reply: FastifyReply, query: URLSearchParams) {
    const parsed = parseSearch(query, type.parameters, { strict: wantsStrict(request.headers.prefer), includes: type.includes });
    const { actor } = request;
    const total = await type.count(db, actor, parsed.where);
    const page = parsed.countOnly
      ? { resources: [], more: false }
      : await type.search(db, actor, { where: parsed.where, limit: parsed.count, ...(parsed.afterId ? { afterId: parsed.afterId } : {}) });
    const warning: OperationOutcome | undefined =
      parsed.ignored.length > 0 ? outcome('not-supported', `ignored unknown search parameters: ${parsed.ignored.join(', ')}`, 'warning') : undefined;
    const bundle = searchsetBundle(base, parsed, {
      resourceType: type.type,
      total,
      matches: page.resources,
      included: await type.include(db, actor, page.resources, parsed.includes),
      ...(page.more ? { nextAfter: page.resources[page.resources.length - 1]!.id! } : {}),
      ...(warning ? { warning } : {}),
    });
    return sendResource(reply, query, 200, bundle);
  }

  app.get(`/${type.type}`, read, (request, reply) => search(request, reply, queryOf(request)));
  app.post(`/${type.type}/_search`, read, (request, reply) => {
    // Parameters may come in the URL, the form body or both (R4 §3.1.0.8).
    const query = queryOf(request);
    if (request.body instanceof URLSearchParams) for (const [k, v] of request.body) query.append(k, v);
    return search(request, reply, query);
  });
  app.get<{ Params: { id: string } }>(`/${type.type}/:id`, read, async (request, reply) => {
    const resource = await type.read(db, request.actor, request.params.id);
    reply.header('etag', etagOf(resource)).header('last-modified', new Date(resource.meta!.lastUpdated!).toUTCString());
    return sendResource(reply, queryOf(request), 200, resource);
  });
}
