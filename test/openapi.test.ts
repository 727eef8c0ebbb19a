import fs from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { openApiDocument } from '../src/cli/openapi.js';
import { testHub } from './helpers/hub.js';

const checkedIn = JSON.parse(fs.readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'));

t.test('openapi/openapi.json is what the route schemas generate (run `npm run openapi` after changing a route)', async (t) => {
  t.same(await openApiDocument(), checkedIn);
});

t.test('the document is valid OpenAPI 3.1', async (t) => {
  const validator = new Validator();
  const result = await validator.validate(checkedIn);
  t.equal(validator.version, '3.1');
  t.ok(result.valid, JSON.stringify(result.errors));
});

t.test('every protected operation states its OAuth scope; public ones state none', async (t) => {
  const publicPaths = ['/health', '/ready', '/oauth2/client/token', '/.well-known/jwks.json'];
  for (const [path, operations] of Object.entries(checkedIn.paths as Record<string, Record<string, { security: unknown[] }>>)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (publicPaths.includes(path)) t.same(operation.security, [], `${method} ${path} is public`);
      else t.match(operation.security, [{ oauth2: [/^[a-z]+(:[a-z]+)?$/] }], `${method} ${path} names a scope`);
    }
  }
});

t.test('served at /openapi.json and /docs without a token', async (t) => {
  const hub = await testHub(t);
  const doc = await hub.request({ method: 'GET', url: '/openapi.json', token: null });
  t.equal(doc.statusCode, 200);
  t.same(doc.json(), checkedIn);
  const docs = await hub.request({ method: 'GET', url: '/docs/', token: null });
  t.equal(docs.statusCode, 200);
  t.match(docs.body, /swagger/i);
});
