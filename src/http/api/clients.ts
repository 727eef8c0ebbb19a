import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../db/client.js';
import {
  Client,
  ClientCredentials,
  ClientInput,
  ClientPatch,
  createClient,
  disableClient,
  enableClient,
  getClient,
  listClients,
  rotateClientSecret,
  updateClient,
} from '../../security/clients.js';
import { errorResponses, pageOf, PageQuery, Query } from './common.js';

const tags = ['clients'];
const ClientParams = Type.Object({ client_id: Type.String() });

/** OAuth clients (partners, integrators): all of it needs `admin`. */
export const clientRoutes: FastifyPluginAsyncTypebox<{ db: Db }> = async (app, { db }) => {
  app.post(
    '/clients',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Register a client; the answer holds its secret, shown only this once',
        body: ClientInput,
        response: { 201: ClientCredentials, ...errorResponses(400, 409, 422) },
      },
    },
    async (request, reply) => reply.code(201).header('cache-control', 'no-store').send(await createClient(db, request.actor, request.body)),
  );

  app.get(
    '/clients',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'List clients', querystring: Query(PageQuery), response: { 200: pageOf(Client), ...errorResponses(400) } },
    },
    async (request) => listClients(db, request.actor, request.query.limit, request.query.cursor),
  );

  app.get(
    '/clients/:client_id',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Read a client', params: ClientParams, response: { 200: Client, ...errorResponses(404) } },
    },
    async (request) => getClient(db, request.actor, request.params.client_id),
  );

  app.patch(
    '/clients/:client_id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: "Change a client's public keys or DCI partner settings (omitted settings stay as they are)",
        params: ClientParams,
        body: ClientPatch,
        response: { 200: Client, ...errorResponses(400, 404, 409, 422) },
      },
    },
    async (request) => updateClient(db, request.actor, request.params.client_id, request.body),
  );

  app.post(
    '/clients/:client_id/disable',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Disable a client: no new tokens, and its current tokens stop working within seconds',
        params: ClientParams,
        response: { 200: Client, ...errorResponses(404) },
      },
    },
    async (request) => disableClient(db, request.actor, request.params.client_id),
  );

  app.post(
    '/clients/:client_id/enable',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Re-enable a disabled client', params: ClientParams, response: { 200: Client, ...errorResponses(404) } },
    },
    async (request) => enableClient(db, request.actor, request.params.client_id),
  );

  app.post(
    '/clients/:client_id/secret',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Rotate the client secret; the old one stops working at once',
        params: ClientParams,
        response: { 200: ClientCredentials, ...errorResponses(404) },
      },
    },
    async (request, reply) =>
      reply.header('cache-control', 'no-store').send(await rotateClientSecret(db, request.actor, request.params.client_id)),
  );
};
