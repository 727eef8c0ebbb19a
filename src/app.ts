import { randomUUID } from 'node:crypto';
import helmet from '@fastify/helmet';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { answerFrameworkError } from './framework-errors.js';
import { callbackQueue, callbackWorker } from './dci/callbacks.js';
import { PROCESS_QUEUE, processWorker, type DciContext } from './dci/exchange.js';
import { startNotifyDispatcher } from './dci/notify.js';
import { startRetentionSweep } from './dci/retention.js';
import { crvsRegistry } from './dci/crvs-registry.js';
import { dciHandlers, dciRegistryRoutes } from './dci/routes.js';
import { socialRegistry } from './dci/social-registry.js';
import { JobQueue } from './jobs/queue.js';
import { applyPullSchedules, pullQueues, pullWorkers } from './adapters/registry/scheduled-pull.js';
import { importRoutes } from './http/api/imports.js';
import { IMPORT_QUEUE, importWorker } from './registry/import/jobs.js';
import { registryAdapters } from './adapters/registry/registries.js';
import { dciCallbackRoutes, disburseCallbackRoutes } from './dci/callback-routes.js';
import { auditRoutes } from './http/api/audit.js';
import { dciAdminRoutes } from './http/api/dci.js';
import { registryRoutes } from './http/api/registries.js';
import { civilEventRoutes } from './http/api/civil-events.js';
import { clientRoutes } from './http/api/clients.js';
import { Problem } from './http/api/common.js';
import { duplicateRoutes } from './http/api/duplicates.js';
import { groupRoutes } from './http/api/groups.js';
import { individualRoutes } from './http/api/individuals.js';
import { keyRoutes } from './http/api/keys.js';
import { locationRoutes } from './http/api/locations.js';
import { organizationRoutes } from './http/api/organizations.js';
import { paymentRoutes } from './http/api/payments.js';
import { programmeRoutes } from './http/api/programmes.js';
import { taskRoutes } from './http/api/tasks.js';
import { fhirRoutes, FHIR_PREFIX } from './fhir/routes.js';
import { registerAuthentication } from './http/auth.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerStatementLimits } from './http/statement-limits.js';
import { registerInputGuard } from './http/input-guard.js';
import { oauthRoutes, TOKEN_PATH } from './http/oauth.js';
import { registerOpenApi } from './http/openapi.js';
import { recordRoutes } from './http/route-list.js';
import { opsRoutes } from './http/ops.js';
import { rateLimits } from './http/rate-limit.js';
import { disburseGateways, paymentGateways, paymentQueues, paymentWorkers } from './adapters/payment/index.js';
import type { GatewayRegistry } from './payments/gateway.js';
import { AuthLockout } from './security/auth-lockout.js';
import { KeyStore, keyStoreOptions } from './security/keys.js';
import { configureOutbound } from './security/outbound.js';
import type { TokenSettings } from './security/tokens.js';

export interface AppOptions {
  config: Config;
  database: Database;
  /** A pino logger for requests; none (silent) when omitted, as in tests. */
  logger?: FastifyBaseLogger;
  /** Work the job queues and dispatch notifications (default); off for a process that only needs the routes. */
  workers?: boolean;
  /** Payment gateways by name; built from `config.paymentGateways` when omitted. */
  gateways?: GatewayRegistry;
}

/** Incoming X-Request-Id is kept when it looks like an id; otherwise a fresh one is made. */
function requestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Builds the HTTP application over an open (and migrated) database. No side effects beyond the instance. */
export async function buildApp({ config, database, logger, workers = true, gateways }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    genReqId: requestId,
    bodyLimit: config.bodyLimitBytes,
    ...(config.trustProxy ? { trustProxy: config.trustProxy } : {}),
    frameworkErrors: answerFrameworkError,
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  configureOutbound(config.outbound);

  const { db } = database;
  const keys = new KeyStore(db, keyStoreOptions(config));
  const tokens: TokenSettings = {
    issuer: config.publicUrl,
    audience: config.tokenAudience,
    ttlSeconds: config.tokenTtlSeconds,
  };

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  recordRoutes(app);
  app.addSchema(Problem);
  registerErrorHandling(app);
  registerStatementLimits(app, config.statementTimeoutMs);
  registerInputGuard(app);
  await registerOpenApi(app);
  await app.register(helmet, { contentSecurityPolicy: false });
  // Callers are counted by address before a token is checked, and by client once it has been.
  const limits = await rateLimits(app, config.rateLimit);
  app.addHook('onRequest', limits.byAddress);
  registerAuthentication(app, { db, keys, tokens });
  app.addHook('onRequest', limits.byClient);

  const queues = [callbackQueue(config.dci.callbacks), PROCESS_QUEUE, IMPORT_QUEUE, ...paymentQueues(config), ...pullQueues(config.registries)];
  const jobs = await JobQueue.start(database, queues, app.log, { cron: workers });
  await applyPullSchedules(jobs, config.registries);
  const payments = gateways ?? paymentGateways(config, { db, keys, jobs, senderId: config.dci.senderId, publicUrl: config.publicUrl });
  await app.register(opsRoutes, { ping: database.ping });
  await app.register(oauthRoutes, {
    keys,
    ctx: {
      db,
      keys,
      settings: tokens,
      assertionAudiences: [`${config.publicUrl}${TOKEN_PATH}`, config.publicUrl],
      lockout: new AuthLockout(db, config.authLockout),
    },
  });
  const registries = registryAdapters(config.registries, {
    keys,
    senderId: config.dci.senderId,
    publicUrl: config.publicUrl,
    timeoutMs: config.dci.callbacks.timeoutMs,
  });
  await app.register(
    async (api) => {
      await api.register(locationRoutes, { db });
      await api.register(individualRoutes, { db });
      await api.register(groupRoutes, { db });
      await api.register(duplicateRoutes, { db });
      await api.register(programmeRoutes, { db, approvals: config.defaultApprovals });
      await api.register(organizationRoutes, { db });
      await api.register(paymentRoutes, { db, gateways: payments });
      await api.register(taskRoutes, { db });
      await api.register(civilEventRoutes, { db });
      await api.register(registryRoutes, { db, registries });
      await api.register(clientRoutes, { db });
      await api.register(auditRoutes, { db });
      await api.register(dciAdminRoutes, { db, jobs });
      await api.register(importRoutes, { database, jobs, maxBytes: config.importMaxBytes });
      await api.register(keyRoutes, { keys });
    },
    { prefix: '/api/v1' },
  );
  const dci: DciContext = { db, keys, config: config.dci, jobs };
  if (workers) {
    const handlers = [socialRegistry, crvsRegistry].flatMap((registry) => Object.values(dciHandlers(dci, registry)));
    await jobs.workAll([callbackWorker(db, keys, config.dci.callbacks), processWorker(dci, handlers, config.statementTimeoutMs.dci), importWorker(database), ...paymentWorkers(payments), ...pullWorkers(db, registries, app.log)]);
    let dispatcher: { stop(): Promise<void> } | undefined;
    app.addHook('onReady', async () => {
      dispatcher = startNotifyDispatcher(dci, { sr: socialRegistry, crvs: crvsRegistry }, {
        intervalMs: config.dci.notifyIntervalMs,
        batchSize: 500,
        onError: (err) => app.log.error({ err }, 'notify dispatch failed; retrying at the next interval'),
      });
    });
    app.addHook('onClose', async () => dispatcher?.stop());
    if (config.dci.retention.days > 0) {
      let sweeper: { stop(): Promise<void> } | undefined;
      app.addHook('onReady', async () => {
        sweeper = startRetentionSweep(db, {
          ...config.dci.retention,
          onSwept: (deleted) => app.log.info({ deleted, retentionDays: config.dci.retention.days }, 'old DCI transactions deleted'),
          onError: (err) => app.log.error({ err }, 'DCI transaction retention sweep failed; retrying at the next interval'),
        });
      });
      app.addHook('onClose', async () => sweeper?.stop());
    }
  }
  // Registered after the dispatcher's, so it runs after it: nothing enqueues once the queue stops.
  app.addHook('onClose', async () => jobs.stop());
  await app.register(dciRegistryRoutes, { prefix: '/dci/sr', ...dci, registry: socialRegistry });
  await app.register(dciRegistryRoutes, { prefix: '/dci/crvs', ...dci, registry: crvsRegistry });
  await app.register(dciCallbackRoutes, { prefix: '/dci/callbacks', db, registries });
  await app.register(disburseCallbackRoutes, { prefix: '/dci/callbacks', gateways: disburseGateways(payments) });
  await app.register(fhirRoutes, { prefix: FHIR_PREFIX, db, config });
  return app;
}
