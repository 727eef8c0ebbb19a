import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { dismissDuplicate, listDuplicates, mergeDuplicate } from '../../registry/duplicates.js';
import { DuplicateCandidate, DuplicateStatus, Individual, Uuid } from '../../registry/schemas.js';
import { errorResponses, IdParams, pageOf, PageQuery, Query } from './common.js';

const tags = ['duplicates'];

const ListQuery = Query({
  ...PageQuery,
  status: Type.Optional(DuplicateStatus),
  kind: Type.Optional(Type.Union([Type.Literal('probable'), Type.Literal('identifier')])),
  individual_id: Type.Optional(Uuid),
});

const MergeBody = Type.Object(
  {
    survivor_id: Type.Optional(
      Type.String({ format: 'uuid', description: 'The record to keep (one of the pair); by default the one registered first.' }),
    ),
  },
  { additionalProperties: false },
);

/** Review of possible duplicates: flagged by imports and by creates/updates, decided only by a person. */
export const duplicateRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/duplicates',
    {
      config: { scope: 'registry:read' },
      schema: {
        tags,
        summary: 'Possible duplicates, best score first (keyset pagination)',
        description:
          'Only candidates whose records are all inside the caller\'s geographic scope. An open candidate whose record was deleted or merged since is not listed.',
        querystring: ListQuery,
        response: { 200: pageOf(DuplicateCandidate), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listDuplicates(db, request.actor, filters, limit, cursor);
    },
  );

  app.post(
    '/duplicates/:id/dismiss',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'Not the same person: close the candidate (a held import row is applied by the next run of the import)',
        params: IdParams,
        response: { 200: DuplicateCandidate, ...errorResponses(404, 409, 410) },
      },
    },
    async (request) => dismissDuplicate(db, request.actor, request.params.id),
  );

  app.post(
    '/duplicates/:id/merge',
    {
      config: { scope: 'registry:write' },
      schema: {
        tags,
        summary: 'The same person: merge the pair into one record',
        description:
          'The survivor keeps its values, fills the fields it lacks from the other record and takes its identifiers and household memberships; ' +
          'the other record is soft-deleted with merged_into set. Both are versioned and audited.',
        params: IdParams,
        body: MergeBody,
        response: { 200: Type.Object({ candidate: DuplicateCandidate, survivor: Individual }), ...errorResponses(400, 404, 409, 410, 422) },
      },
    },
    async (request) => mergeDuplicate(db, request.actor, request.params.id, request.body.survivor_id),
  );
};
