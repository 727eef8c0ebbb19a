import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyStore } from '../../security/keys.js';
import { errorResponses } from './common.js';

export const keyRoutes: FastifyPluginAsyncTypebox<{ keys: KeyStore }> = async (app, { keys }) => {
  app.post(
    '/keys/rotate',
    {
      config: { scope: 'admin', wholeRegistry: true },
      schema: {
        tags: ['auth'],
        summary: 'Rotate the hub signing and encryption keys',
        description:
          'The new signing key signs from now on, and partners encrypt DCI messages to the new encryption key; the old keys stay in the JWKS (the old encryption key still decrypts) until the tokens they signed have expired.',
        response: {
          200: Type.Object({
            kid: Type.String({ description: 'The new signing key (`use` sig).' }),
            encryption_kid: Type.String({ description: 'The new DCI message encryption key (`use` enc).' }),
            retired: Type.Array(Type.String()),
          }),
          ...errorResponses(),
        },
      },
    },
    async (request) => keys.rotate(request.actor),
  );
};
