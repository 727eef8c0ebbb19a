import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { CivilEvent, CivilEventInput, CivilEventType } from '../../registry/civil-event-schemas.js';
import { getCivilEvent, listCivilEvents, recordCivilEvent } from '../../registry/civil-events.js';
import { IsoDate, Uuid } from '../../registry/schemas.js';
import { errorResponses, IdParams, PageQuery, pageOf, Query } from './common.js';

const tags = ['civil events'];

const ListQuery = Query({
  ...PageQuery,
  event_type: Type.Optional(CivilEventType),
  registration_number: Type.Optional(Type.String()),
  subject_id: Type.Optional(Uuid),
  source: Type.Optional(Type.String({ description: '`local`, or an external registry name.' })),
  registered_from: Type.Optional(IsoDate),
  registered_to: Type.Optional(IsoDate),
});

export const civilEventRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/civil-events',
    {
      config: { scope: 'crvs:write' },
      schema: {
        tags,
        summary: 'Record a civil (vital) event',
        description:
          'A death sets the subject’s death date and suspends their benefits (the registration as the reason); a birth ' +
          'can create the newborn and add them to a parent’s household. All in one transaction.',
        body: CivilEventInput,
        response: { 201: CivilEvent, ...errorResponses(400, 404, 409, 410, 422) },
      },
    },
    async (request, reply) => {
      const created = await recordCivilEvent(db, request.actor, request.body);
      return reply.code(201).header('location', `${request.url}/${created.id}`).send(created);
    },
  );

  app.get(
    '/civil-events',
    {
      config: { scope: 'crvs:read' },
      schema: {
        tags,
        summary: 'List civil events (keyset pagination)',
        querystring: ListQuery,
        response: { 200: pageOf(CivilEvent), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listCivilEvents(db, request.actor, filters, limit, cursor);
    },
  );

  app.get(
    '/civil-events/:id',
    {
      config: { scope: 'crvs:read' },
      schema: { tags, summary: 'Read a civil event', params: IdParams, response: { 200: CivilEvent, ...errorResponses(404) } },
    },
    async (request) => getCivilEvent(db, request.actor, request.params.id),
  );
};
