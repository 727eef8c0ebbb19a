import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

const Status = Type.Object({ status: Type.String() });

/** Liveness (process up) and readiness (database reachable), for load balancers and orchestrators. */
export async function opsRoutes(app: FastifyInstance, opts: { ping: () => Promise<void> }) {
  app.get(
    '/health',
    { config: { public: true }, logLevel: 'warn', schema: { tags: ['operations'], summary: 'The process is up', response: { 200: Status } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    {
      config: { public: true },
      logLevel: 'warn',
      schema: { tags: ['operations'], summary: 'The database answers', response: { 200: Status, 503: Status } },
    },
    async (request, reply) => {
      try {
        await opts.ping();
        return { status: 'ready' };
      } catch (err) {
        request.log.warn({ err }, 'readiness check failed');
        return reply.code(503).send({ status: 'database unreachable' });
      }
    },
  );
}
