import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listAudit, verifyAuditChain } from '../../audit/log.js';
import type { Db } from '../../db/client.js';
import { errorResponses, pageOf, PageQuery, Query } from './common.js';

const tags = ['audit'];

const AuditRecord = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String({ description: 'client_id of the caller (or system:… for CLI and jobs).' }),
  action: Type.String(),
  entity_type: Type.String(),
  entity_id: Type.String(),
  before_digest: Type.Union([Type.String(), Type.Null()], { description: 'SHA-256 of the canonical JSON before the change.' }),
  after_digest: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String({ description: 'Chain hash over this entry and the previous hash.' }),
});

const ChainReport = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  firstBroken: Type.Optional(Type.Object({ seq: Type.Integer(), reason: Type.String() })),
  head: Type.Optional(
    Type.Object(
      { seq: Type.Integer(), hash: Type.String() },
      { description: 'Last verified entry: keep it elsewhere to detect entries later cut off the end.' },
    ),
  ),
});

export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.get(
    '/audit',
    {
      config: { scope: 'audit:read' },
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
      config: { scope: 'audit:read' },
      schema: { tags, summary: 'Verify the hash chain; reports the first broken link', response: { 200: ChainReport, ...errorResponses() } },
    },
    async () => verifyAuditChain(db),
  );
};
