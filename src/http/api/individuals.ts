import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import {
  createIndividual,
  deleteIndividual,
  getIndividual,
  listIndividuals,
  updateIndividual,
} from '../../registry/individuals.js';
import { Individual, IndividualInput, IndividualPatch, IsoDate, Sex, Uuid } from '../../registry/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { countedPageOf, errorResponses, IdParams, IfMatchHeader, PageQuery, Query, SearchQuery } from './common.js';

const tags = ['individuals'];

const ListQuery = Query({
  ...PageQuery,
  location_id: Type.Optional(Uuid),
  sex: Type.Optional(Sex),
  identifier_type: Type.Optional(Type.String()),
  identifier_value: Type.Optional(Type.String({ description: 'Alone: matches an identifier of any type.' })),
  given_name: Type.Optional(Type.String({ description: 'Exact, ignoring case and accents.' })),
  family_name: Type.Optional(Type.String({ description: 'Exact, ignoring case and accents.' })),
  name: Type.Optional(
    Type.String({ minLength: 2, maxLength: 200, description: 'Fuzzy full-name search (trigram word similarity), ignoring case and accents; answers at most the 1000 most similar people (equally similar ones by name, then id).' }),
  ),
  birth_date_from: Type.Optional(IsoDate),
  birth_date_to: Type.Optional(IsoDate),
  age_min: Type.Optional(Type.Integer({ minimum: 0, maximum: 150, description: 'Age in whole years today, at least.' })),
  age_max: Type.Optional(Type.Integer({ minimum: 0, maximum: 150, description: 'Age in whole years today, at most.' })),
  group_id: Type.Optional(Uuid),
  ...SearchQuery,
});

export const individualRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/individuals',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Register an individual',
        body: IndividualInput,
        response: { 201: Individual, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createIndividual(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/individuals',
    {
      config: { scope: 'registry:read' },
      schema: {
        tags,
        summary: 'Search individuals (keyset pagination)',
        description: 'All filters combine with AND. Results are in id order; `count=true` adds the total.',
        querystring: ListQuery,
        response: { 200: countedPageOf(Individual), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, count, ...filters } = request.query;
      return listIndividuals(db, request.actor, filters, limit, cursor, count);
    },
  );

  app.get(
    '/individuals/:id',
    {
      config: { scope: 'registry:read' },
      schema: { tags, summary: 'Read an individual', params: IdParams, response: { 200: Individual, ...errorResponses(404, 410) } },
    },
    async (request, reply) => withEtag(reply, await getIndividual(db, request.actor, request.params.id)),
  );

  app.patch(
    '/individuals/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Update an individual (If-Match required)',
        params: IdParams,
        headers: IfMatchHeader,
        body: IndividualPatch,
        response: { 200: Individual, ...errorResponses(400, 404, 409, 410, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateIndividual(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.delete(
    '/individuals/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Delete an individual (soft: reads then answer 410)',
        params: IdParams,
        headers: IfMatchHeader,
        response: { 204: Type.Null(), ...errorResponses(404, 410, 412) },
      },
    },
    async (request, reply) => {
      await deleteIndividual(db, request.actor, request.params.id, expectedVersion(request, undefined, false));
      return reply.code(204).send(null);
    },
  );
};
