import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import {
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  updateOrganization,
} from '../../programmes/organizations.js';
import { Organization, OrganizationInput, OrganizationPatch, OrganizationType } from '../../programmes/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { errorResponses, IdParams, IfMatchHeader, pageOf, PageQuery, Query } from './common.js';

const tags = ['organizations'];

/** Programme operators, payment providers and government bodies (FHIR Organization reads them). */
export const organizationRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/organizations',
    {
      config: { scope: 'programmes:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Register an organisation: a programme operator, a payment provider or a government body',
        body: OrganizationInput,
        response: { 201: Organization, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const created = await createOrganization(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/organizations',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags,
        summary: 'List organisations (deleted ones left out)',
        querystring: Query({ ...PageQuery, type: Type.Optional(OrganizationType) }),
        response: { 200: pageOf(Organization), ...errorResponses(400) },
      },
    },
    async (request) => listOrganizations(db, { type: request.query.type }, request.query.limit, request.query.cursor),
  );

  app.get(
    '/organizations/:id',
    {
      config: { scope: 'programmes:read' },
      schema: { tags, summary: 'Read an organisation', params: IdParams, response: { 200: Organization, ...errorResponses(404, 410) } },
    },
    async (request, reply) => withEtag(reply, await getOrganization(db, request.params.id)),
  );

  app.patch(
    '/organizations/:id',
    {
      config: { scope: 'programmes:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Update an organisation (If-Match required); identifiers and contact are replaced as a whole',
        params: IdParams,
        headers: IfMatchHeader,
        body: OrganizationPatch,
        response: { 200: Organization, ...errorResponses(400, 404, 410, 412, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateOrganization(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.delete(
    '/organizations/:id',
    {
      config: { scope: 'programmes:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Delete an organisation that operates no programme (deactivate it otherwise)',
        params: IdParams,
        headers: IfMatchHeader,
        response: { 204: Type.Null(), ...errorResponses(404, 409, 410, 412) },
      },
    },
    async (request, reply) => {
      await deleteOrganization(db, request.actor, request.params.id, expectedVersion(request, undefined, false));
      return reply.code(204).send(null);
    },
  );
};
