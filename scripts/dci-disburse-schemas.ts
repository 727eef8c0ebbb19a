/**
 * Derives schemas/dci/disburse/ from the DCI disbursement schemas (../shared/ref/dci/spdci-api-standards/src/disburse/
 * schema/*.yaml and the common schemas they refer to): every referenced file becomes one entry of
 * `disburse_v1.0.0.components.json`, named by its file, and one file per message we send or receive wraps a message
 * in the envelope, as the DCI APIs do. Run: npx tsx scripts/dci-disburse-schemas.ts [spdci-api-standards/src]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const SRC = process.argv[2] ?? path.resolve(root, '../shared/ref/dci/spdci-api-standards/src');
const COMPONENTS = 'disburse_v1.0.0.components.json';
const BASE = 'https://convergence-hub.org/schemas/dci/disburse/';
const out = path.join(root, 'schemas/dci/disburse');

type Json = Record<string, unknown>;

/**
 * `extensions/cdpi/FinancialAddress.yaml`, which the disbursement schemas refer to, is not in the spdci repository.
 * G2P Connect defines it as a string `id-type:id@provider` (e.g. `mobile:25779000000@lumicash`); its `format` holds a
 * regular expression that leaves out the `:` of its own examples. Here: a pattern that admits it.
 */
const FINANCIAL_ADDRESS: Json = {
  type: 'string',
  description: 'Financial address of a store of value account: id-type:id@provider (G2P Connect FinancialAddress)',
  pattern: '^[a-zA-Z0-9.:_-]+@[a-zA-Z0-9.-]+$',
  maxLength: 256,
};

const schemas: Record<string, Json> = {};
const origin: Record<string, string> = {};

/** Loads a spec file into the components (once), its references pointed at the components' entries. */
function load(file: string): string {
  const name = path.basename(file, '.yaml');
  if (origin[name] !== undefined) {
    if (origin[name] !== file) throw new Error(`two schemas named ${name}: ${origin[name]} and ${file}`);
    return name;
  }
  origin[name] = file;
  if (name === 'FinancialAddress') {
    schemas[name] = FINANCIAL_ADDRESS;
    return name;
  }
  const relink = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(relink);
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' ? `#/components/schemas/${load(path.resolve(path.dirname(file), v))}` : relink(v),
      ]),
    );
  };
  schemas[name] = relink(parse(fs.readFileSync(file, 'utf8'))) as Json;
  return name;
}

for (const file of ['DisburseRequest', 'DisburseResponse', 'TxnStatusRequest', 'TxnStatusResponse']) load(path.join(SRC, 'disburse/schema', `${file}.yaml`));
for (const file of ['MsgHeader_V1.0.0', 'MsgCallbackHeader_V1.0.0', 'MsgSignature', 'EncryptedMessage']) load(path.join(SRC, 'common/schema', `${file}.yaml`));

/** The spec's DisburseRequest requires `disburemsents`, a misspelling of the property it defines. */
const request = schemas.DisburseRequest as { required: string[] };
request.required = request.required.map((r) => (r === 'disburemsents' ? 'disbursements' : r));

/**
 * `example: {$ref: DisburseResponse}` in TxnStatusResponse is an example, not a reference; left as it is, it would
 * name a schema where a value belongs.
 */
delete ((schemas.TxnStatusResponse as { properties: { txnstatus_response: Json } }).properties.txnstatus_response).example;

const write = (file: string, schema: Json) => fs.writeFileSync(path.join(out, file), `${JSON.stringify(schema, null, 2)}\n`);
const ref = (name: string) => ({ $ref: `${COMPONENTS}#/components/schemas/${name}` });

fs.mkdirSync(out, { recursive: true });
write(COMPONENTS, {
  $id: BASE + COMPONENTS,
  $comment:
    'Derived from ../shared/ref/dci/spdci-api-standards/src/disburse/schema/*.yaml and the common schemas they refer to (DCI API standards, Apache-2.0) by scripts/dci-disburse-schemas.ts: each file converted from YAML to JSON as one entry named by the file, unchanged but for DisburseRequest.required (disburemsents → disbursements), TxnStatusResponse.txnstatus_response.example dropped, and FinancialAddress defined here (see ../README.md).',
  components: { schemas },
});

/** The envelope around each message, as every DCI API wraps its request bodies. */
const messages: [string, 'MsgHeader_V1.0.0' | 'MsgCallbackHeader_V1.0.0', string, string][] = [
  ['disburse.request.json', 'MsgHeader_V1.0.0', 'disburse', 'DisburseRequest'],
  ['on-disburse.request.json', 'MsgCallbackHeader_V1.0.0', 'on-disburse', 'DisburseResponse'],
  ['txn-status.request.json', 'MsgHeader_V1.0.0', 'txn-status', 'TxnStatusRequest'],
  ['txn-on-status.request.json', 'MsgCallbackHeader_V1.0.0', 'txn-on-status', 'TxnStatusResponse'],
];
for (const [file, header, action, message] of messages) {
  write(file, {
    $id: BASE + file,
    $comment: `The envelope {signature, header, message} of the DCI APIs around ${message} (header ${header}, action ${action}); references point into ${COMPONENTS}.`,
    type: 'object',
    properties: {
      signature: ref('MsgSignature'),
      header: { allOf: [ref(header), { properties: { action: { enum: [action] } } }] },
      message: { type: 'object', oneOf: [ref(message), ref('EncryptedMessage')] },
    },
    required: ['header', 'message'],
  });
}
