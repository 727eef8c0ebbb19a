import type { FastifyPluginAsync } from 'fastify';
import { receiveCallback } from '../adapters/registry/dci-intake.js';
import type { RegistryAdapter } from '../adapters/registry/registries.js';
import type { Db } from '../db/client.js';

const ACTIONS: Record<string, string> = {
  notify: 'notify',
  'on-search': 'on-search',
  'on-subscribe': 'on-subscribe',
  'on-unsubscribe': 'on-unsubscribe',
  'txn/on-status': 'txn-on-status',
};

/**
 * Where external DCI registries answer and notify us: /dci/callbacks/{registry}/registry/{notify|on-search|…}.
 * No bearer token (registries post callbacks without one, as OpenCRVS does): each message must carry a signature that
 * verifies against that registry's keys.
 */
export const dciCallbackRoutes: FastifyPluginAsync<{ db: Db; registries: Map<string, RegistryAdapter> }> = async (app, { db, registries }) => {
  app.post<{ Params: { registry: string; '*': string } }>(
    '/:registry/registry/*',
    { config: { public: true }, schema: { hide: true } },
    async (request, reply) => {
      const client = registries.get(request.params.registry)?.dci;
      const action = ACTIONS[request.params['*']];
      if (!client || !action) {
        return reply.code(404).send({ errors: [{ code: 'err.request.not_found', message: 'no such registry callback' }] });
      }
      const answer = await receiveCallback(db, client, action, request.body);
      if (answer.httpStatus === 200) request.log.info({ registry: client.registry.name, action }, 'registry callback applied');
      return reply.code(answer.httpStatus).send(answer.body);
    },
  );
};
