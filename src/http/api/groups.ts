import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { addMember, createGroup, deleteGroup, endMembership, getGroup, listGroups, updateGroup } from '../../registry/groups.js';
import { Group, GroupInput, GroupPatch, IsoDate, MemberInput, Uuid } from '../../registry/schemas.js';
import { expectedVersion, withEtag } from '../concurrency.js';
import { countedPageOf, errorResponses, IdParams, IfMatchHeader, PageQuery, Query, SearchQuery } from './common.js';

const tags = ['groups'];

const ListQuery = Query({
  ...PageQuery,
  location_id: Type.Optional(Uuid),
  kind: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  member_id: Type.Optional(Uuid),
  ...SearchQuery,
});

export const groupRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/groups',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Register a group (household), optionally with its members',
        description: 'Members are existing individuals (individual_id) or new ones created in the same transaction.',
        body: GroupInput,
        response: { 201: Group, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const created = await createGroup(db, request.actor, request.body);
      reply.code(201).header('location', `${request.url}/${created.id}`);
      return withEtag(reply, created);
    },
  );

  app.get(
    '/groups',
    {
      config: { scope: 'registry:read' },
      schema: {
        tags,
        summary: 'Search groups (keyset pagination)',
        description: 'All filters combine with AND. Results are in id order; `count=true` adds the total.',
        querystring: ListQuery,
        response: { 200: countedPageOf(Group), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, count, ...filters } = request.query;
      return listGroups(db, request.actor, filters, limit, cursor, count);
    },
  );

  app.get(
    '/groups/:id',
    {
      config: { scope: 'registry:read' },
      schema: { tags, summary: 'Read a group with its current members', params: IdParams, response: { 200: Group, ...errorResponses(404, 410) } },
    },
    async (request, reply) => withEtag(reply, await getGroup(db, request.actor, request.params.id)),
  );

  app.patch(
    '/groups/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Update a group (If-Match required)',
        params: IdParams,
        headers: IfMatchHeader,
        body: GroupPatch,
        response: { 200: Group, ...errorResponses(400, 404, 409, 410, 412, 422, 428) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, request.body.version, true);
      return withEtag(reply, await updateGroup(db, request.actor, request.params.id, version, request.body));
    },
  );

  app.delete(
    '/groups/:id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Delete a group (soft; current memberships end today)',
        params: IdParams,
        headers: IfMatchHeader,
        response: { 204: Type.Null(), ...errorResponses(404, 410, 412) },
      },
    },
    async (request, reply) => {
      await deleteGroup(db, request.actor, request.params.id, expectedVersion(request, undefined, false));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/groups/:id/members',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Add a member to a group',
        params: IdParams,
        headers: IfMatchHeader,
        body: MemberInput,
        response: { 201: Group, ...errorResponses(400, 404, 409, 410, 412, 422) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, undefined, false);
      const group = await addMember(db, request.actor, request.params.id, version, request.body);
      return withEtag(reply.code(201), group);
    },
  );

  app.delete(
    '/groups/:id/members/:individual_id',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'End a membership (kept in history with its end date)',
        params: Type.Object({ id: Uuid, individual_id: Uuid }),
        querystring: Query({ end_date: Type.Optional(IsoDate) }),
        headers: IfMatchHeader,
        response: { 200: Group, ...errorResponses(404, 410, 412) },
      },
    },
    async (request, reply) => {
      const version = expectedVersion(request, undefined, false);
      const { id, individual_id } = request.params;
      return withEtag(reply, await endMembership(db, request.actor, id, individual_id, version, request.query.end_date));
    },
  );
};
