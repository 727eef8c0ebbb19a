import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DciDisburseGateway } from '../adapters/payment/dci-disburse.js';
import { receiveCallback } from '../adapters/registry/dci-intake.js';
import type { RegistryAdapter } from '../adapters/registry/registries.js';
import type { Db } from '../db/client.js';
import { answerRefusalsAsDci } from './http-errors.js';

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
  answerRefusalsAsDci(app);
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

/**
 * Where disbursement gateways answer: /dci/callbacks/{gateway}/on-disburse and …/disburse/txn/on-status (the paths
 * of the disbursement API under the sender_uri we give). No bearer token; each message must carry a signature that
 * verifies against that gateway's keys. Outcomes that do not match a payment are logged as a warning, not applied.
 */
export const disburseCallbackRoutes: FastifyPluginAsync<{ gateways: Map<string, DciDisburseGateway> }> = async (app, { gateways }) => {
  answerRefusalsAsDci(app);
  const receive = (action: 'on-disburse' | 'txn-on-status') => async (request: FastifyRequest<{ Params: { gateway: string } }>, reply: FastifyReply) => {
    const gateway = gateways.get(request.params.gateway);
    if (!gateway) return reply.code(404).send({ errors: [{ code: 'err.request.not_found', message: 'no such payment gateway' }] });
    const { httpStatus, body, result } = await gateway.receive(action, request.body);
    if (result) {
      const log = result.mismatch_count > 0 ? request.log.warn.bind(request.log) : request.log.info.bind(request.log);
      log({ gateway: gateway.name, action, ...result, mismatches: result.mismatches.slice(0, 20) }, 'payment gateway callback reconciled');
    }
    return reply.code(httpStatus).send(body);
  };
  const options = { config: { public: true }, schema: { hide: true } };
  app.post('/:gateway/on-disburse', options, receive('on-disburse'));
  app.post('/:gateway/disburse/txn/on-status', options, receive('txn-on-status'));
};
