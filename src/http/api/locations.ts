import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { createLocation, deleteLocation, getLocation, listLocations, updateLocation } from '../../registry/locations.js';
import { Location, LocationInput, LocationPatch, Uuid } from '../../registry/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { errorResponses, IdParams, IfMatchHeader, pageOf, PageQuery, Query } from './common.js';

const tags = ['locations'];

const ListQuery = Query({
  ...PageQuery,
  parent_id: Type.Optional(Uuid),
  within: Type.Optional(Type.String({ format: 'uuid', description: 'This location and everything below it.' })),
  level: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  code: Type.Optional(Type.String()),
});

export const locationRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/locations',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Create an administrative area (under parent_id, or a root area)',
        body: LocationInput,
        response: { 201: Location, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createLocation(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/locations',
    {
      config: { scope: 'registry:read' },
      schema: { tags, summary: 'List administrative areas', querystring: ListQuery, response: { 200: pageOf(Location), ...errorResponses(400) } },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listLocations(db, request.actor, filters, limit, cursor);
    },
  );

  app.get(
    '/locations/:id',
    {
      config: { scope: 'registry:read' },
      schema: { tags, summary: 'Read an administrative area', params: IdParams, response: { 200: Location, ...errorResponses(404, 410) } },
    },
    async (request, reply) => withEtag(reply, await getLocation(db, request.actor, request.params.id)),
  );

  app.patch(
    '/locations/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Rename an administrative area (If-Match required)',
        params: IdParams,
        headers: IfMatchHeader,
        body: LocationPatch,
        response: { 200: Location, ...errorResponses(400, 404, 410, 412, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateLocation(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.delete(
    '/locations/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Delete an empty administrative area',
        params: IdParams,
        headers: IfMatchHeader,
        response: { 204: Type.Null(), ...errorResponses(404, 409, 410, 412) },
      },
    },
    async (request, reply) => {
      await deleteLocation(db, request.actor, request.params.id, expectedVersion(request, undefined, false));
      return reply.code(204).send(null);
    },
  );
};
