/**
 * Admin API read-by-id at registry scale, against a bare Fastify route doing the same indexed SELECTs in the same
 * run. The ratio is the cost of everything the hub adds: token verification, scope and geo checks, validation,
 * serialisation, problem mapping.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench
 *   BENCH_INDIVIDUALS (default 1000000), BENCH_SECONDS (10), BENCH_CONNECTIONS (20), BENCH_ROUNDS (3)
 */
import Fastify from 'fastify';
import { benchHub, compare, pick, settings, settle } from './support.js';

const { raw, hub, adminToken, close } = await benchHub('hub_bench_api_read');
const started = Date.now();
await raw`
  INSERT INTO individuals (given_name, family_name, sex, birth_date, attributes)
  SELECT 'Given' || i, 'Family' || (i % 5000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         date '1940-01-01' + (i % 30000), jsonb_build_object('rooms', i % 6)
  FROM generate_series(1, ${settings.individuals}) AS i`;
await raw`INSERT INTO identifiers (individual_id, type, value) SELECT id, 'NIN', 'NIN-' || id FROM individuals`;
await settle(raw, started, `${settings.individuals} individuals with identifiers`);
const ids = (await raw`SELECT id FROM individuals TABLESAMPLE SYSTEM (1) LIMIT 10000`).map((r) => r.id as string);

const bare = Fastify();
bare.get<{ Params: { id: string } }>('/bare/:id', async (request) => {
  const [person] = await raw`SELECT * FROM individuals WHERE id = ${request.params.id} AND deleted_at IS NULL`;
  const identifiers = await raw`SELECT type, value FROM identifiers WHERE individual_id = ${request.params.id}`;
  return { ...person, identifiers };
});
await bare.listen({ host: '127.0.0.1', port: 0 });

await compare(
  { label: 'bare Fastify + same SELECTs', origin: bare.listeningOrigin, path: () => `/bare/${pick(ids)}` },
  {
    label: 'hub GET /api/v1/individuals/:id',
    origin: hub.listeningOrigin,
    path: () => `/api/v1/individuals/${pick(ids)}`,
    headers: { authorization: `Bearer ${await adminToken('registry:read')}` },
  },
);
await bare.close();
await close();
