import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import { getTransaction, listTransactions, retryDelivery } from '../../dci/deliveries.js';
import type { JobQueue } from '../../jobs/queue.js';
import { errorResponses, IdParams, pageOf, PageQuery, Query } from './common.js';

const tags = ['dci'];
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const DeliveryState = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);

const Transaction = Type.Object({
  id: Type.String({ format: 'uuid' }),
  correlation_id: Type.String({ format: 'uuid', description: 'Our correlation_id of the exchange.' }),
  registry: Type.String({ description: 'sr (Social Registry) or crvs.' }),
  action: Type.String({ description: 'search, subscribe, unsubscribe, txn-status, notify …' }),
  client_id: Type.String(),
  sender_id: Type.String(),
  message_id: Type.String(),
  transaction_id: Nullable(Type.String()),
  status: Type.String({ description: 'pdng, succ or rjct.' }),
  record_count: Type.Integer(),
  received_at: Type.String({ format: 'date-time' }),
  delivery: Type.Union([
    Type.Object({
      status: DeliveryState,
      url: Nullable(Type.String()),
      attempts: Type.Integer({ description: 'Attempts made so far, over every retry.' }),
      last_error: Nullable(Type.String()),
      last_attempt_at: Nullable(Type.String({ format: 'date-time' })),
      retryable: Type.Boolean({ description: 'A failed delivery that POST …/retry can send again.' }),
    }),
    Type.Null(),
  ], { description: 'The asynchronous answer (callback) to the partner; null for a synchronous exchange.' }),
});

export const dciAdminRoutes: FastifyPluginAsyncTypebox<{ db: Db; jobs: JobQueue }> = async (app, { db, jobs }) => {
  app.get(
    '/dci/transactions',
    {
      config: { scope: 'dci:admin', wholeRegistry: true },
      schema: {
        tags,
        summary: 'DCI exchanges with an asynchronous answer, by delivery state, newest first',
        description: '`delivery=failed` lists the callbacks given up on after every retry (the dead letters), with the last error and the attempts made.',
        querystring: Query({
          ...PageQuery,
          delivery: Type.Optional(DeliveryState),
          sender_id: Type.Optional(Type.String()),
          registry: Type.Optional(Type.Union([Type.Literal('sr'), Type.Literal('crvs')])),
        }),
        response: { 200: pageOf(Transaction), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filters } = request.query;
      return listTransactions(db, filters, limit, cursor);
    },
  );

  app.get(
    '/dci/transactions/:id',
    {
      config: { scope: 'dci:admin', wholeRegistry: true },
      schema: { tags, summary: 'One DCI exchange and the delivery of its answer', params: IdParams, response: { 200: Transaction, ...errorResponses(404) } },
    },
    async (request) => getTransaction(db, request.params.id),
  );

  app.post(
    '/dci/transactions/:id/retry',
    {
      config: { scope: 'dci:admin', wholeRegistry: true },
      schema: {
        tags,
        summary: 'Send a failed callback again',
        description:
          'The callback goes back to `pending` and is delivered with the usual retries and backoff; the partner receives the same header (message_id) and message, signed (and encrypted) anew. 409 unless the delivery failed.',
        params: IdParams,
        response: { 200: Transaction, ...errorResponses(404, 409) },
      },
    },
    async (request) => retryDelivery(db, jobs, request.actor, request.params.id),
  );
};
