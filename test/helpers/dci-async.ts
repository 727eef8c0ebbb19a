import { eq } from 'drizzle-orm';
import type { Test } from 'tap';
import { compactVerify, createLocalJWKSet } from 'jose';
import { dciTransactions } from '../../src/db/schema/index.js';
import type { DciSpec } from '../../src/dci/schemas.js';
import { schemaErrors } from './dci.js';
import type { Received } from './fake-partner.js';
import type { TestHub } from './hub.js';

export const ENV = { DCI_CALLBACK_RETRY_DELAY: '1', DCI_CALLBACK_RETRIES: '3', DCI_NOTIFY_INTERVAL: '200' };

/** A callback's signature is a compact JWS by a key in the hub's JWKS, over exactly its header and message. */
export async function verifiedCallback(t: Test, hub: TestHub, received: Received, schema: string, spec: DciSpec = 'social') {
  const jwks = (await hub.request({ method: 'GET', url: '/.well-known/jwks.json', token: null })).json();
  const { payload } = await compactVerify(received.body.signature, createLocalJWKSet(jwks));
  const content = received.body.message === undefined ? { header: received.body.header } : { header: received.body.header, message: received.body.message };
  t.same(JSON.parse(new TextDecoder().decode(payload)), content, 'signed by the hub over exactly {header, message}');
  t.equal(schemaErrors(schema, received.body, spec), '', `valid against ${spec} ${schema}`);
  return received.body;
}

export async function transactionRow(hub: TestHub, correlationId: string) {
  const [row] = await hub.database.db.select().from(dciTransactions).where(eq(dciTransactions.correlationId, correlationId));
  return row!;
}

export function expectAck(t: Test, res: { statusCode: number; body: string; json(): any }) {
  t.equal(res.statusCode, 200, 'acknowledged', { body: res.body });
  const body = res.json();
  t.equal(schemaErrors('ack.response.json', body), '', 'valid Ack');
  t.equal(body.message.ack_status, 'ACK');
  return body.message.correlation_id as string;
}

