import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAudit, verifyAuditChain } from '../../audit/log.js';
import type { Db } from '../../db/client.js';
import { errorResponses, pageOf, PageQuery, Query } from './common.js';

const tags = ['audit'];

const AuditRecord = Type.Object({
  seq: Type.Integer(),
  chain: Type.Integer({ description: 'The hash chain the entry belongs to; `hash` links it to the previous entry of this chain.' }),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'client_id of the caller (or system:… for CLI and jobs).' }),
  action: Type.String(),
  entity_type: Type.String(),
  entity_id: Type.String(),
  before_digest: Type.Union([Type.String(), Type.Null()], { description: 'SHA-256 of the canonical JSON before the change.' }),
  after_digest: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String({ description: 'Chain hash over this entry and the hash of the previous entry of its chain.' }),
});

const ChainReport = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  firstBroken: Type.Optional(Type.Object({ seq: Type.Integer(), chain: Type.Integer(), reason: Type.String() })),
  head: Type.Optional(Type.Object({ seq: Type.Integer(), hash: Type.String() }, { description: 'The newest verified entry.' })),
  heads: Type.Optional(
    Type.Array(Type.Object({ chain: Type.Integer(), seq: Type.Integer(), hash: Type.String() }), {
      description: 'The last entry of every chain: keep them elsewhere to detect entries later cut off the end of a chain.',
    }),
  ),
});

export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/audit',
    {
      config: { scope: 'audit:read', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Audit log entries, newest first',
        querystring: Query({
          ...PageQuery,
          entity_type: Type.Optional(Type.String()),
          entity_id: Type.Optional(Type.String()),
          actor: Type.Optional(Type.String()),
        }),
        response: { 200: pageOf(AuditRecord), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listAudit(db, filters, limit, cursor);
    },
  );

  app.get(
    '/audit/verify',
    {
      config: { scope: 'audit:read', wholeRegistry: true },
      schema: { tags, summary: 'Verify the hash chains; reports the first broken link', response: { 200: ChainReport, ...errorResponses() } },
    },
    async () => verifyAuditChain(db),
  );
};
