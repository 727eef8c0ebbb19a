import formBody from '@fastify/formbody';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { KeyStore } from '../security/keys.js';
import { clientAddress } from './client-address.js';
import { textProblem } from '../text.js';
import { BadInputError } from './input-guard.js';
import { handleTokenRequest, OAuthError, type TokenEndpointContext, type TokenRequest } from '../security/token-endpoint.js';

export const TOKEN_PATH = '/oauth2/client/token';

const TokenForm = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ description: 'Must be client_credentials.' })),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String()),
    client_assertion_type: Type.Optional(Type.String()),
    client_assertion: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String({ description: 'Space-separated subset of the client scopes.' })),
  },
  { additionalProperties: true },
);

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds (a number, as RFC 6749 §5.1 defines it).' }),
  scope: Type.String(),
});

const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.String() });

function basicCredentials(header: string | undefined): TokenRequest['basic'] {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials');
  let credentials: NonNullable<TokenRequest['basic']>;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    credentials = {
      clientId: decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll('+', ' ')),
    };
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials');
  }
  if (textProblem(credentials.clientId) ?? textProblem(credentials.secret)) throw new OAuthError('invalid_client', 'malformed Basic credentials');
  return credentials;
}

function sendOAuthError(reply: FastifyReply, err: OAuthError) {
  if (err.status === 401) reply.header('www-authenticate', 'Basic realm="convergence-hub"');
  if (err.retryAfterSeconds !== undefined) reply.header('retry-after', err.retryAfterSeconds);
  return reply.code(err.status).header('cache-control', 'no-store').send({ error: err.error, error_description: err.description });
}

/** OAuth 2 client-credentials token endpoint (DCI authz) and the hub's public JWKS. */
export async function oauthRoutes(app: FastifyInstance, opts: { ctx: TokenEndpointContext; keys: KeyStore }) {
  await app.register(formBody);
  // Text the edge refuses (http/input-guard.ts) is an invalid_request here, in the words of RFC 6749 §5.2.
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof BadInputError) return sendOAuthError(reply, new OAuthError('invalid_request', err.message));
    throw err;
  });

  app.post(
    TOKEN_PATH,
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Issue an access token (OAuth 2 client credentials)',
        description:
          'Client authentication by client_secret_basic, client_secret_post, or private_key_jwt (RFC 7523) with a key ' +
          'registered in the client JWKS. Errors follow RFC 6749 §5.2.',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenForm,
        response: { 200: TokenResponse, 400: OAuthErrorBody, 401: OAuthErrorBody, 429: OAuthErrorBody },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      try {
        if (request.validationError) throw new OAuthError('invalid_request', 'the body must be form-encoded parameters');
        const form = request.body as Record<string, unknown>;
        const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
        const token = await handleTokenRequest(opts.ctx, {
          grant_type: field('grant_type'),
          client_id: field('client_id'),
          client_secret: field('client_secret'),
          client_assertion_type: field('client_assertion_type'),
          client_assertion: field('client_assertion'),
          scope: field('scope'),
          basic: basicCredentials(request.headers.authorization),
        }, clientAddress(request));
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(token);
      } catch (err) {
        if (err instanceof OAuthError) return sendOAuthError(reply, err);
        throw err;
      }
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Public keys of this hub (RFC 7517), for verifying its tokens and signed messages',
        response: {
          200: Type.Object({
            keys: Type.Array(Type.Object({ kty: Type.String(), kid: Type.String(), use: Type.String(), alg: Type.String() }, { additionalProperties: true })),
          }),
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(await opts.keys.publicJwks()),
  );
}
