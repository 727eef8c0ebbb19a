import fs from 'node:fs';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { TOKEN_PATH } from '../http/oauth.js';
import { gone, HubError } from '../errors.js';
import { historyBundle, searchsetBundle } from './bundle.js';
import { IdentifierSystems } from './identifier-systems.js';
import { assertJsonBody, assertJsonWanted, FHIR_JSON, sendResource, wantsStrict } from './media.js';
import { capabilityStatement } from './metadata.js';
import { badRequest, failureOf, FhirError, outcome } from './outcome.js';
import { RETRY_AFTER_SECONDS } from '../http/error-handler.js';
import { resourceTypes, type Page, type ResourceType } from './resources.js';
import { checkedRevIncludes, REVINCLUDE_LIMIT, revInclude, uniqueIncluded } from './search/revinclude.js';
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
    if (failure.status === 503) reply.header('retry-after', RETRY_AFTER_SECONDS);
    return sendResource(reply, queryOf(request), failure.status, failure.body);
  });
  app.setNotFoundHandler((request, reply) =>
    sendResource(reply, queryOf(request), 404, outcome('not-supported', `no FHIR interaction ${request.method} ${request.url.split('?')[0]}`)),
  );
  app.addHook('preHandler', async (request) => assertJsonWanted(request, queryOf(request)));

  app.get('/metadata', { config: { public: true }, schema: hidden }, async (request, reply) =>
    sendResource(reply, queryOf(request), 200, metadata),
  );

  const byType = checkedRevIncludes(types);
  for (const type of types) registerType(app, db, base, type, byType);
}

function registerType(app: FastifyInstance, db: Db, base: string, type: ResourceType, byType: Map<string, ResourceType>) {
  const read = { config: { scope: 'fhir:read' }, schema: hidden };

  async function search(request: FastifyRequest, reply: FastifyReply, query: URLSearchParams) {
    const parsed = parseSearch(query, type.parameters, {
      strict: wantsStrict(request.headers.prefer),
      includes: type.includes,
      revIncludes: type.revIncludes,
    });
    const { actor } = request;
    const page: Page<Resource> = parsed.countOnly
      ? { resources: [] }
      : await type.search(db, actor, {
          where: parsed.where,
          limit: parsed.count,
          order: parsed.order,
          ...(parsed.after ? { after: parsed.after } : {}),
        });
    // A first page with no next one holds every match: its size is the total, and the count query can be spared
    // (the common lookup by identifier or id).
    const whole = !parsed.countOnly && parsed.after === undefined && page.next === undefined;
    const total = whole ? page.resources.length : await type.count(db, actor, parsed.where);
    const reverse = await revInclude(db, actor, byType, page.resources, parsed.revIncludes);
    const warnings = [
      ...(parsed.ignored.length > 0 ? [`ignored unknown or unsupported search parameters: ${parsed.ignored.join(', ')}`] : []),
      ...reverse.truncated.map((value) => `_revinclude=${value} holds only the first ${REVINCLUDE_LIMIT} resources`),
    ];
    const bundle = searchsetBundle(base, parsed, {
      resourceType: type.type,
      total,
      matches: page.resources,
      included: uniqueIncluded(page.resources, [...(await type.include(db, actor, page.resources, parsed.includes)), ...reverse.resources]),
      ...(page.next ? { next: page.next } : {}),
      ...(warnings.length > 0 ? { warning: warningOutcome(warnings) } : {}),
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

  const write = { config: { scope: 'fhir:write' }, schema: hidden, preValidation: async (request: FastifyRequest) => assertJsonBody(request) };
  const sendVersion = (reply: FastifyReply, request: FastifyRequest, status: number, resource: Resource) => {
    reply
      .header('etag', etagOf(resource))
      .header('last-modified', new Date(resource.meta!.lastUpdated!).toUTCString())
      .header('location', `${base}/${type.type}/${resource.id}/_history/${resource.meta!.versionId}`);
    return sendResource(reply, queryOf(request), status, resource);
  };
  const { create, update } = type;
  if (create) {
    app.post(`/${type.type}`, write, async (request, reply) => {
      // Conditional create (R4 §3.1.0.8.1): If-None-Exist is a search; one match is returned instead of creating.
      const condition = request.headers['if-none-exist'];
      if (typeof condition === 'string') {
        const parsed = parseSearch(new URLSearchParams(condition.replace(/^[^?]*\?/, '')), type.parameters, { strict: true, includes: [] });
        if (parsed.where.length === 0) throw badRequest('If-None-Exist needs at least one search parameter', ['If-None-Exist']);
        const found = await type.search(db, request.actor, { where: parsed.where, limit: 2 });
        if (found.resources.length > 1) throw new FhirError(412, 'duplicate', `If-None-Exist matches more than one ${type.type}`);
        if (found.resources.length === 1) return sendVersion(reply, request, 200, found.resources[0]!);
      }
      return sendVersion(reply, request, 201, await create(db, request.actor, request.body));
    });
  }
  if (update) {
    app.put<{ Params: { id: string } }>(`/${type.type}/:id`, write, async (request, reply) => {
      const expected = ifMatchVersion([request.headers['if-match']].flat()[0]);
      return sendVersion(reply, request, 200, await update(db, request.actor, request.params.id, expected, request.body));
    });
  }

  const { history, vread } = type;
  if (history) {
    app.get<{ Params: { id: string } }>(`/${type.type}/:id/_history`, read, async (request, reply) => {
      const versions = await history(db, request.actor, request.params.id);
      return sendResource(reply, queryOf(request), 200, historyBundle(base, type.type, request.params.id.toLowerCase(), versions));
    });
  }
  if (vread) {
    app.get<{ Params: { id: string; vid: string } }>(`/${type.type}/:id/_history/:vid`, read, async (request, reply) => {
      const { id, vid } = request.params;
      if (!/^[1-9]\d{0,8}$/.test(vid)) throw notFoundVersion(type.type, id, vid);
      const { resource, deleted } = await vread(db, request.actor, id, Number(vid));
      if (deleted) throw gone(`${type.type} ${id} version`, vid);
      reply.header('etag', etagOf(resource)).header('last-modified', new Date(resource.meta!.lastUpdated!).toUTCString());
      return sendResource(reply, queryOf(request), 200, resource);
    });
  }
}

/** `If-Match: W/"3"` (or "3") → 3; anything else is a 400. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (!match) throw badRequest('If-Match must be one version ETag, e.g. W/"3"', ['If-Match']);
  return Number(match[1]);
}

const notFoundVersion = (type: string, id: string, vid: string) => new HubError('not_found', `${type} ${id} has no version ${vid}`);

/** Warnings of a search (ignored parameters, cut short includes) as the outcome entry of its Bundle. */
function warningOutcome(messages: string[]): OperationOutcome {
  const issue: OperationOutcomeIssue[] = messages.map((diagnostics) => ({ severity: 'warning', code: 'not-supported', diagnostics }));
  return { resourceType: 'OperationOutcome', issue };
}
