import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyStore } from '../../security/keys.js';
import { errorResponses } from './common.js';

export const keyRoutes: FastifyPluginAsyncTypebox<{ keys: KeyStore }> = async (app, { keys }) => {
  app.post(
    '/keys/rotate',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Rotate the hub signing key',
        description: 'The new key signs from now on; the old one stays in the JWKS until the tokens it signed have expired.',
        response: { 200: Type.Object({ kid: Type.String(), retired: Type.Array(Type.String()) }), ...errorResponses() },
      },
    },
    async (request) => keys.rotate(request.actor),
  );
};
