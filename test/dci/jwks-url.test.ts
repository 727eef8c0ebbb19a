import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { header, partnerKey, registerPartner, searchItem, searchMessage, send, signString } from '../helpers/dci.js';
import { seedRegistry } from '../helpers/dci-registry.js';
import { testHub } from '../helpers/hub.js';

t.test("a partner's keys fetched from its jwks_url (a fake partner on 127.0.0.1), in both signature forms", async (t) => {
  const key = await partnerKey('EdDSA');
  let fetched = 0;
  const server = http.createServer((req, res) => {
    fetched++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [key.publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;

  const hub = await testHub(t);
  await seedRegistry(hub);
  const registered = await registerPartner(hub, { dci: { jwks_url: jwksUrl } });
  // Only the URL names its keys: the registered JWKS is removed.
  const patched = await hub.request({ method: 'PATCH', url: `/api/v1/clients/${registered.clientId}`, payload: { jwks: null } });
  t.equal(patched.json().dci.jwks_url, jwksUrl);
  t.equal(patched.json().jwks, null);
  const partner = { ...registered, key };

  const message = () => searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'UIN', value: 'TEST-001' } })]);
  const jws = await send(hub, partner, '/registry/sync/search', { header: header(partner), message: message() });
  t.equal(jws.json().header?.status, 'succ', 'form (a) verified with the remote key', { body: jws.body });
  const content = { header: header(partner), message: message() };
  const str = await send(hub, partner, '/registry/sync/search', content, await signString(key, partner.senderId, content));
  t.equal(str.json().header?.status, 'succ', 'form (b) verified with the remote key', { body: str.body });
  t.ok(fetched >= 1, 'the key set was fetched from the partner');

  const stranger = await partnerKey('EdDSA');
  const forged = { header: header(partner), message: message() };
  const refused = await send(hub, partner, '/registry/sync/search', forged, await signString(stranger, partner.senderId, forged));
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().errors[0].code, 'err.signature.invalid');
});
