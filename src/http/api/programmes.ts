import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { defineAttribute, listAttributeDefinitions } from '../../programmes/attributes.js';
import { previewEligibility } from '../../programmes/eligibility.js';
import { createProgramme, getProgramme, listProgrammes, updateProgramme } from '../../programmes/programmes.js';
import {
  AttributeDefinition,
  AttributeDefinitionInput,
  Preview,
  PreviewInput,
  Programme,
  ProgrammeInput,
  ProgrammePatch,
} from '../../programmes/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { errorResponses, IdParams, IfMatchHeader, pageOf, PageQuery, Query } from './common.js';

export const programmeRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/attribute-definitions',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Declare a custom attribute (name and type) that formulas may use',
        body: AttributeDefinitionInput,
        response: { 201: AttributeDefinition, ...errorResponses(400, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await defineAttribute(db, request.actor, request.body)),
  );

  app.get(
    '/attribute-definitions',
    {
      config: { scope: 'registry:read' },
      schema: { tags: ['programmes'], summary: 'Declared custom attributes', response: { 200: Type.Object({ items: Type.Array(AttributeDefinition) }) } },
    },
    async () => ({ items: await listAttributeDefinitions(db) }),
  );

  app.post(
    '/programmes',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Create a programme; its formulas are checked now (422 names the position and any unknown name)',
        body: ProgrammeInput,
        response: { 201: Programme, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createProgramme(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/programmes',
    {
      config: { scope: 'programmes:read' },
      schema: { tags: ['programmes'], summary: 'List programmes', querystring: Query(PageQuery), response: { 200: pageOf(Programme), ...errorResponses(400) } },
    },
    async (request) => listProgrammes(db, request.actor, request.query.limit, request.query.cursor),
  );

  app.get(
    '/programmes/:id',
    {
      config: { scope: 'programmes:read' },
      schema: { tags: ['programmes'], summary: 'Read a programme', params: IdParams, response: { 200: Programme, ...errorResponses(404) } },
    },
    async (request, reply) => withEtag(reply, await getProgramme(db, request.actor, request.params.id)),
  );

  app.patch(
    '/programmes/:id',
    {
      config: { scope: 'programmes:write' },
      schema: {
        tags: ['programmes'],
        summary: 'Update a programme (If-Match required)',
        params: IdParams,
        headers: IfMatchHeader,
        body: ProgrammePatch,
        response: { 200: Programme, ...errorResponses(400, 404, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateProgramme(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.post(
    '/programmes/:id/eligibility/preview',
    {
      config: { scope: 'programmes:read' },
      schema: {
        tags: ['programmes'],
        summary: 'Who would qualify: counts overall, by area and by sex, and the best-ranked sample; enrols no one',
        params: IdParams,
        body: PreviewInput,
        response: { 200: Preview, ...errorResponses(400, 404, 422) },
      },
    },
    async (request) => previewEligibility(db, request.actor, request.params.id, request.body),
  );
};
