/**
 * DCI sync search by identifier at registry scale, against a bare Fastify route doing the same indexed SELECTs in the
 * same run. The ratio is the cost of the DCI layer: token, envelope and header checks, signature verification
 * (ES256 compact JWS), replay protection and the transaction record, the audit entry, record mapping and our signature.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:dci
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SECONDS (10), BENCH_CONNECTIONS (20), BENCH_ROUNDS (3),
 *   BENCH_MESSAGES (signed messages made up front, default 60000)
 */
import Fastify from 'fastify';
import { benchHub, compare, dciPartner, pick, say, settings, settle, signedSearch } from './support.js';

// Messages are signed before the run, so the clock window must cover the whole run.
const bench = await benchHub('hub_bench_dci_search', { DCI_CLOCK_SKEW: '3600' });
const { raw, hub, close } = bench;
const individuals = settings.individuals;
const started = Date.now();
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date, attributes)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         date '1940-01-01' + (i % 30000), jsonb_build_object('rooms', i % 6)
  FROM generate_series(1, ${individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'UIN', 'UIN-' || id FROM individuals`;
await settle(raw, started, `${individuals} individuals with identifiers`);
const uins = (await raw`SELECT value FROM identifiers ORDER BY random() LIMIT 10000`).map((r) => r.value as string);

const partner = await dciPartner(bench, 'bench-spmis');

// Every message needs its own message_id (replays are refused), so enough signed bodies are made up front.
const bodyCount = Number(process.env.BENCH_MESSAGES ?? 60_000);
const signingStarted = Date.now();
const bodies: string[] = [];
for (let i = 0; i < bodyCount; i++) bodies.push(await signedSearch(partner.signer, 'bench-spmis', uins[i % uins.length]!));
say(`signed ${bodyCount} messages in ${((Date.now() - signingStarted) / 1000).toFixed(1)} s`);

const bare = Fastify();
bare.post<{ Body: { value: string } }>('/bare', async (request) => {
  const people = await raw`SELECT p.* FROM individuals p JOIN identifiers i ON i.individual_id = p.id
    WHERE i.type = 'UIN' AND i.value = ${request.body.value} AND p.deleted_at IS NULL`;
  const identifiers = people.length ? await raw`SELECT type, value FROM identifiers WHERE individual_id = ${people[0]!.id}` : [];
  return { records: people.map((p) => ({ ...p, identifiers })) };
});
await bare.listen({ host: '127.0.0.1', port: 0 });

let next = 0;
const json = { 'content-type': 'application/json' };
const sent = await compare(
  { label: 'bare Fastify + same SELECTs', origin: bare.listeningOrigin, path: () => '/bare', method: 'POST', headers: json, body: () => JSON.stringify({ value: pick(uins) }) },
  {
    label: 'hub DCI sync search (UIN)',
    origin: hub.listeningOrigin,
    path: () => '/dci/sr/registry/sync/search',
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${partner.token}` },
    body: () => bodies[next++ % bodyCount]!,
  },
);
if (sent > bodyCount) say(`note: ${sent - bodyCount} requests reused a message_id and were answered rjct.message_id.duplicate; raise BENCH_MESSAGES`);
await bare.close();
await close();
