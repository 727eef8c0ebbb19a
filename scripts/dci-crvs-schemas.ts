/**
 * Derives schemas/dci/crvs/ from the DCI CRVS API (../shared/ref/dci/compliance-corrected/crvs_api_v1.0.0.yaml, or the
 * file given as the first argument): the components converted to JSON, and one file per message we accept or emit —
 * each path's request body (and a sync endpoint's answer) with its references pointed into the components file.
 * Run: npx tsx scripts/dci-crvs-schemas.ts [spec.yaml]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = process.argv[2] ?? path.resolve(root, '../shared/ref/dci/compliance-corrected/crvs_api_v1.0.0.yaml');
const SPEC = 'crvs_api_v1.0.0.yaml';
const COMPONENTS = 'crvs_api_v1.0.0.components.json';
const BASE = 'https://convergence-hub.org/schemas/dci/crvs/';
const out = path.join(root, 'schemas/dci/crvs');

type Json = Record<string, unknown>;
const spec = parse(fs.readFileSync(source, 'utf8')) as { paths: Record<string, { post: Json }>; components: Json };

/** References into the spec's own components now point into the components file. */
function relink(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(relink);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/components/') ? `${COMPONENTS}${v}` : relink(v)]),
  );
}

/**
 * The spec's "one of string, integer, number, boolean, object" refuses every integer (an integer is also a number):
 * such lists become anyOf, as in the Social Registry schemas (see schemas/dci/README.md).
 */
function primitiveAnyOf(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(primitiveAnyOf);
  if (typeof node !== 'object' || node === null) return node;
  const entries = Object.entries(node).map(([k, v]) => [k, primitiveAnyOf(v)] as [string, unknown]);
  const object = Object.fromEntries(entries) as Json;
  const types = Array.isArray(object.oneOf) ? (object.oneOf as Json[]).map((s) => s.type) : [];
  if (types.includes('integer') && types.includes('number')) {
    object.anyOf = object.oneOf;
    delete object.oneOf;
  }
  return object;
}

/**
 * One correction: txn status replays a search's answer, whose `reg_records` the spec's SearchResponse makes a list,
 * but TxnStatusResponse's copy of it says a single object; it is made the same list (see ../README.md).
 */
function correctTxnStatusRecords(components: Json): Json {
  const txn = (components.schemas as Record<string, Json>).TxnStatusResponse as { properties: { txnstatus_response: { example: Json } } };
  const data = (txn.properties.txnstatus_response.example as { properties: { search_response: { items: { properties: { data: { properties: Json } } } } } })
    .properties.search_response.items.properties.data.properties;
  data.reg_records = { $ref: '#/components/schemas/SearchResponse/properties/search_response/items/properties/data/properties/reg_records' };
  return components;
}

const write = (file: string, schema: Json) => fs.writeFileSync(path.join(out, file), `${JSON.stringify(schema, null, 2)}\n`);

fs.mkdirSync(out, { recursive: true });
write(COMPONENTS, {
  $id: BASE + COMPONENTS,
  $comment: `Derived from ../shared/ref/dci/compliance-corrected/${SPEC} (DCI CRVS API v1.0.0, Apache-2.0) by scripts/dci-crvs-schemas.ts: its components converted from YAML to JSON, otherwise unchanged but for oneOf lists of primitive types made anyOf and TxnStatusResponse's reg_records made the list SearchResponse has (see ../README.md).`,
  components: correctTxnStatusRecords(primitiveAnyOf(spec.components) as Json),
});

const messages: [string, string, 'request' | 'response'][] = [
  ['/registry/sync/search', 'sync-search.request.json', 'request'],
  ['/registry/sync/search', 'sync-search.response.json', 'response'],
  ['/registry/sync/txn/status', 'sync-txn-status.request.json', 'request'],
  ['/registry/sync/txn/status', 'sync-txn-status.response.json', 'response'],
  ['/registry/search', 'search.request.json', 'request'],
  ['/registry/subscribe', 'subscribe.request.json', 'request'],
  ['/registry/unsubscribe', 'unsubscribe.request.json', 'request'],
  ['/registry/txn/status', 'txn-status.request.json', 'request'],
  ['/registry/on-search', 'on-search.request.json', 'request'],
  ['/registry/on-subscribe', 'on-subscribe.request.json', 'request'],
  ['/registry/on-unsubscribe', 'on-unsubscribe.request.json', 'request'],
  ['/registry/txn/on-status', 'txn-on-status.request.json', 'request'],
  ['/registry/notify', 'notify.request.json', 'request'],
];
for (const [route, file, part] of messages) {
  const post = spec.paths[route]!.post as { requestBody: { content: Record<string, { schema: Json }> }; responses: { default: { content: Record<string, { schema: Json }> } } };
  const where = part === 'request' ? 'requestBody (application/json)' : 'responses.default';
  const schema = part === 'request' ? post.requestBody.content['application/json']!.schema : post.responses.default.content['application/json']!.schema;
  write(file, {
    $id: BASE + file,
    $comment: `Derived from ../shared/ref/dci/compliance-corrected/${SPEC}, paths.${route}.post.${where}; references point into ${COMPONENTS}.`,
    ...(primitiveAnyOf(relink(schema)) as Json),
  });
}
