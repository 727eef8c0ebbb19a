import { eq } from 'drizzle-orm';
import pino from 'pino';
import t from 'tap';
import { clients } from '../../src/db/schema/index.js';
import { loggerOptions, REDACTED_KEYS, redactedUrl, serializeError } from '../../src/http/logging.js';
import { header, registerPartner, searchItem, searchMessage, send, signJws } from '../helpers/dci.js';
import { testHub } from '../helpers/hub.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';

/** A pino logger with the hub's options writing into memory, and the lines it wrote. */
function memoryLogger(level = 'trace') {
  const lines: string[] = [];
  const logger = pino(loggerOptions({ logLevel: level }), { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

t.test('the redact list: each key is censored at the top level and one and two levels down', async (t) => {
  const { logger, lines } = memoryLogger();
  for (const key of REDACTED_KEYS) {
    const value = `VALUE-OF-${key}`;
    logger.info({ [key]: value, one: { [key]: value }, two: { deep: { [key]: value } }, kept: 'visible' }, 'probe');
  }
  t.equal(lines.length, REDACTED_KEYS.length);
  for (const [i, key] of REDACTED_KEYS.entries()) {
    t.notMatch(lines[i]!, 'VALUE-OF-', `${key} redacted`);
    t.match(JSON.parse(lines[i]!), { [key]: '[redacted]', one: { [key]: '[redacted]' }, two: { deep: { [key]: '[redacted]' } }, kept: 'visible' });
  }
});

t.test('errors: no SQL, parameters, detail or quoted values; the SQLSTATE and constraint stay', async (t) => {
  const pg = Object.assign(new Error('duplicate key value violates unique constraint "identifiers_type_value_key"'), {
    code: '23505',
    constraint_name: 'identifiers_type_value_key',
    table_name: 'identifiers',
    detail: 'Key (type, value)=(NIN, 1-8002-0001) already exists.',
    where: 'COPY individuals, line 3, column given_name: "Aline"',
    query: 'insert into identifiers (type, value) values ($1, $2)',
    parameters: ['NIN', '1-8002-0001'],
  });
  // Drizzle's own wrapper puts the SQL and the parameters in its message, so in the stack too.
  const drizzle = Object.assign(new Error('Failed query: insert into "clients" ("secret_hash") values ($1)\nparams: scrypt$16384$8$1$c2FsdA$aGFzaA'), {
    query: 'insert into "clients" ("secret_hash") values ($1)',
    params: ['scrypt$16384$8$1$c2FsdA$aGFzaA'],
    cause: pg,
  });
  const out = JSON.stringify(serializeError(drizzle));
  for (const leak of ['1-8002-0001', 'scrypt$', 'insert into', 'Aline', 'Key (type']) t.notMatch(out, leak, leak);
  t.match(JSON.parse(out), {
    message: 'database query failed (SQL and parameters not logged)',
    stack: /^Error: database query failed \(SQL and parameters not logged\)\n {4}at /,
    cause: { code: '23505', constraint: 'identifiers_type_value_key', table: 'identifiers', message: /violates unique constraint/ },
  });
  const badDate = Object.assign(new Error('invalid input syntax for type date: "1961-13-45"'), { code: '22007' });
  t.equal((serializeError(badDate) as { message: string }).message, 'invalid input syntax for type date: "[redacted]"');
  t.equal(redactedUrl('/fhir/Patient?family=Quarrington&birthdate=1961-07-23&family=x'), '/fhir/Patient?family=[redacted]&birthdate=[redacted]');
  t.equal(redactedUrl('/api/v1/individuals'), '/api/v1/individuals');
});

t.test('a full run through every surface logs no secret, token, hash or personal data', async (t) => {
  const { logger, lines } = memoryLogger('trace');
  const hub = await testHub(t, {}, { logger });
  const person = { given: 'Zebulon', family: 'Quarrington', birth: '1961-07-23', nin: 'NIN-7Q-55321', phone: '+25779123456' };
  const fhirPerson = { given: 'Philippa', family: 'Oyelaran-Brandt', birth: '1983-11-02' };

  // OAuth: a client, its token, wrong secrets (form and Basic).
  const partner = await hub.client(['fhir:read', 'fhir:write', 'registry:read']);
  const [{ hash }] = (await hub.database.db.select({ hash: clients.secretHash }).from(clients).where(eq(clients.clientId, partner.clientId))) as [{ hash: string }];
  const wrongSecret = `${partner.secret.slice(0, -4)}XXXX`;
  t.equal((await tokenRequest(hub, { grant_type: 'client_credentials', client_id: partner.clientId, client_secret: wrongSecret })).statusCode, 401);
  t.equal((await tokenRequest(hub, { grant_type: 'client_credentials' }, { authorization: basicAuth(partner.clientId, wrongSecret) })).statusCode, 401);

  // Admin API: a client insert the database refuses (duplicate client_id), and one it cannot store (NUL).
  const duplicate = await hub.request({ method: 'POST', url: '/api/v1/clients', payload: { client_id: partner.clientId, name: 'again', scopes: ['registry:read'] } });
  t.equal(duplicate.statusCode, 409);
  const nul = await hub.request({ method: 'POST', url: '/api/v1/clients', payload: { name: 'bad\u0000name', scopes: ['registry:read'] } });
  t.not(nul.statusCode, 201, 'a NUL in a name is not stored');
  // The same failing insert straight through Drizzle, logged as any failure is: the real driver error, the hash a parameter.
  const insertError = await hub.database.db
    .insert(clients)
    .values({ clientId: partner.clientId, name: person.given, secretHash: hash, scopes: ['registry:read'] })
    .then(() => undefined, (err: unknown) => err);
  t.ok(insertError, 'the duplicate insert fails');
  hub.app.log.error({ err: insertError }, 'client insert failed');

  // Registry writes with personal data, a duplicate identifier, searches by name.
  const created = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: person.given, family_name: person.family, sex: 'male', birth_date: person.birth, phone: person.phone, identifiers: [{ type: 'NIN', value: person.nin }] },
  });
  t.equal(created.statusCode, 201, created.body);
  const conflict = await hub.request({
    method: 'POST',
    url: '/api/v1/individuals',
    payload: { given_name: 'Other', family_name: person.family, sex: 'female', birth_date: person.birth, identifiers: [{ type: 'NIN', value: person.nin }] },
  });
  t.equal(conflict.statusCode, 409);
  const found = await hub.request({ method: 'GET', url: `/api/v1/individuals?given_name=${person.given}&identifier_value=${person.nin}` });
  t.equal(found.json().items.length, 1);
  const badDate = await hub.request({ method: 'GET', url: `/api/v1/individuals?birth_date_from=${person.birth}x` });
  t.equal(badDate.statusCode, 400);

  // FHIR: search by name and birth date, read, create; a bad body.
  const fhir = (options: Parameters<typeof hub.request>[0]) => hub.request({ token: partner.token, ...options });
  const bundle = await fhir({ method: 'GET', url: `/fhir/Patient?family=${person.family}&birthdate=${person.birth}` });
  t.equal(bundle.statusCode, 200);
  t.equal(bundle.json().total ?? bundle.json().entry.length, 1);
  t.equal((await fhir({ method: 'GET', url: `/fhir/Patient/${created.json().id}` })).statusCode, 200);
  const fhirCreate = await fhir({
    method: 'POST',
    url: '/fhir/Patient',
    headers: { 'content-type': 'application/fhir+json' },
    payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: fhirPerson.family, given: [fhirPerson.given] }], gender: 'female', birthDate: fhirPerson.birth }),
  });
  t.equal(fhirCreate.statusCode, 201, fhirCreate.body);
  const fhirNul = await fhir({ method: 'GET', url: `/fhir/Patient?name=${encodeURIComponent(`${fhirPerson.given}\u0000`)}` });
  t.not(fhirNul.statusCode, 200);

  // DCI: a signed search by the identifier, and one whose signature does not verify.
  const dci = await registerPartner(hub);
  const content = { header: header(dci), message: searchMessage([searchItem({ query_type: 'idtype-value', query: { type: 'NIN', value: person.nin } })]) };
  const jws = await signJws(dci.key, content);
  const answer = await send(hub, dci, '/registry/sync/search', content, jws);
  t.equal(answer.json().header?.status, 'succ', answer.body);
  t.match(answer.body, person.given, 'the answer carries the person (so the log could have)');
  const answerSignature = answer.json().signature as string;
  t.type(answerSignature, 'string');
  const tampered = await send(hub, dci, '/registry/sync/search', { ...content, header: header(dci) }, jws);
  t.equal(tampered.statusCode, 401);

  const log = lines.join('');
  // Not vacuous: every surface's requests are there, and the failures.
  for (const url of ['/oauth2/client/token', '/api/v1/clients', '/api/v1/individuals', '/fhir/Patient', '/dci/sr/registry/sync/search']) t.match(log, `"url":"${url}`, `${url} logged`);
  t.match(log, '"url":"/fhir/Patient?family=[redacted]&birthdate=[redacted]"', 'query strings logged by key only');
  const failed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'client insert failed');
  t.match(failed?.err, { message: 'database query failed (SQL and parameters not logged)', cause: { code: '23505', constraint: 'clients_client_id_unique', table: 'clients' } });

  const secrets: Record<string, string> = {
    'client secret': partner.secret,
    'wrong secret': wrongSecret,
    'secret hash': hash,
    'secret hash key part': hash.split('$').at(-1)!,
    'partner access token': partner.token,
    'admin access token': hub.adminToken,
    'DCI access token': dci.token,
    'DCI JWS': jws,
    'DCI JWS signature part': jws.split('.')[2]!,
    'hub answer signature': answerSignature,
    'Basic credentials': basicAuth(partner.clientId, wrongSecret).slice(6),
    ...Object.fromEntries(Object.entries(person).map(([k, v]) => [`person ${k}`, v])),
    ...Object.fromEntries(Object.entries(fhirPerson).map(([k, v]) => [`FHIR person ${k}`, v])),
  };
  for (const [what, value] of Object.entries(secrets)) t.notOk(log.includes(value), `${what} not in the log`);
  t.ok(lines.length > 30, `${lines.length} log lines`);
});
