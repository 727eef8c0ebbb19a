import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { SCOPES } from '../security/scopes.js';
import { TOKEN_PATH } from './oauth.js';

const DOCS_PREFIX = '/docs';

/**
 * OpenAPI 3.1 generated from the route schemas, served at /openapi.json and rendered at /docs. Each route's
 * required scope (its `config.scope`) becomes its OAuth 2 security requirement.
 */
export async function registerOpenApi(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(DOCS_PREFIX)) route.config = { ...route.config, public: true };
    if (!route.schema || route.schema.hide) return;
    const scope = route.config?.scope ?? 'admin';
    route.schema = { ...route.schema, security: route.config?.public ? [] : [{ oauth2: [scope] }] } as typeof route.schema;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Convergence Hub admin and integration API',
        version: '1.0.0',
        description:
          'Social registry administration for government integrators. Errors are RFC 9457 problem details ' +
          '(application/problem+json). Obtain a token from the OAuth 2 client-credentials endpoint.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          oauth2: {
            type: 'oauth2',
            flows: { clientCredentials: { tokenUrl: TOKEN_PATH, scopes: { ...SCOPES } } },
          },
        },
      },
      tags: [
        { name: 'locations', description: 'Administrative-area tree' },
        { name: 'individuals', description: 'People in the registry' },
        { name: 'groups', description: 'Households and their members' },
        { name: 'imports', description: 'Bulk import of CSV and NDJSON files as background jobs' },
        { name: 'programmes', description: 'Programmes, custom attributes, eligibility' },
        { name: 'organizations', description: 'Programme operators, payment providers, government bodies' },
        { name: 'workflow', description: 'Maker-checker tasks: beneficiary status changes waiting for approval' },
        { name: 'clients', description: 'OAuth clients (partners, integrators)' },
        { name: 'audit', description: 'Hash-chained audit log' },
        { name: 'dci', description: 'DCI exchanges and the delivery of their callbacks to partners' },
        { name: 'auth', description: 'Tokens and keys' },
        { name: 'operations', description: 'Health and readiness' },
      ],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
