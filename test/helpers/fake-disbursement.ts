import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import canonicalize from 'canonicalize';
import { CompactSign, compactVerify, createLocalJWKSet, exportJWK, generateKeyPair, type JSONWebKeySet, type JWK } from 'jose';
import { encryptMessage, type EncryptionKey } from '../../src/dci/encryption.js';
import { describeErrors, validator, type DciSpec } from '../../src/dci/schemas.js';

type Json = Record<string, any>;

interface LedgerEntry {
  reference_id: string;
  amount: string;
  payee_fa: string;
  status: 'succ' | 'rjct';
  reason?: string;
  /** Times a disburse carried this reference; it is paid at most once whatever this says. */
  received: number;
}

const CLIENT = { id: 'hub', secret: 'gateway-secret', token: 'gateway-token' };
const SENDER = 'fake-gateway';

async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } as JWK };
}

/**
 * A DCI disbursement gateway on 127.0.0.1: issues tokens, checks every request's bearer token, schema and signature
 * (against the hub's JWKS), keeps a ledger keyed by reference_id (a reference is paid once, however often it comes),
 * acknowledges, then posts a signed on-disburse (or txn/on-status) to the sender_uri's path on the hub.
 * `stall` holds that many disburse requests unanswered after paying them (a timeout seen from the hub).
 */
export async function fakeDisbursement(t: { teardown(fn: () => unknown): void }) {
  const key = await signingKey('gw-1');
  const ledger = new Map<string, LedgerEntry>();
  const problems: string[] = [];
  const requests: { path: string; body: Json }[] = [];
  const rejectFa = new Set<string>();
  let hubJwks: ReturnType<typeof createLocalJWKSet> | undefined;
  let hubBase = '';
  let lastOnDisburse: { path: string; message: Json } | undefined;
  let correlations = 0;
  const state = { stall: 0, silent: false };

  const check = (file: string, body: unknown, spec: DciSpec = 'disburse') => {
    const validate = validator(file, spec);
    if (!validate(body)) problems.push(`${file}: ${describeErrors(validate.errors)}`);
  };

  /** Signed callback to the hub, at the path of the sender_uri it gave; `encryptTo` encrypts its message to that key. */
  async function post(path: string, action: string, clear: Json, options: { key?: Awaited<ReturnType<typeof signingKey>>; encryptTo?: EncryptionKey } = {}) {
    const message = options.encryptTo ? await encryptMessage(options.encryptTo, clear) : clear;
    const header = {
      version: '1.0.0',
      message_id: randomUUID(),
      message_ts: new Date().toISOString(),
      action,
      status: 'succ',
      total_count: 1,
      completed_count: 1,
      sender_id: SENDER,
      receiver_id: 'convergence-hub',
      is_msg_encrypted: options.encryptTo !== undefined,
    };
    const signer = options.key ?? key;
    const signature = await new CompactSign(new TextEncoder().encode(JSON.stringify({ header, message })))
      .setProtectedHeader({ alg: 'ES256', kid: signer.kid })
      .sign(signer.privateKey);
    const envelope = { signature, header, message };
    check(`${action}.request.json`, envelope);
    const res = await fetch(`${hubBase}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
    const body = (await res.json()) as Json;
    check('ack.response.json', body, 'social');
    return { status: res.status, body };
  }

  const statusOf = (entry: LedgerEntry) => ({
    reference_id: entry.reference_id,
    timestamp: new Date().toISOString(),
    status: entry.status,
    ...(entry.reason ? { status_reason_code: entry.reason, status_reason_message: 'the payee account does not exist' } : {}),
    amount: entry.amount,
    payee_fa: entry.payee_fa,
  });

  /** Pays what it has not paid yet; a reference seen before is only counted. */
  function pay(disbursements: Json[]): LedgerEntry[] {
    return disbursements.map((d) => {
      let entry = ledger.get(d.reference_id);
      if (!entry) {
        const rejected = rejectFa.has(d.payee_fa);
        entry = { reference_id: d.reference_id, amount: d.amount, payee_fa: d.payee_fa, status: rejected ? 'rjct' : 'succ', ...(rejected ? { reason: 'rjct.payee_fa.invalid' } : {}), received: 0 };
        ledger.set(d.reference_id, entry);
      }
      entry.received++;
      return entry;
    });
  }

  async function verified(req: http.IncomingMessage, body: Json): Promise<boolean> {
    if (req.headers.authorization !== `Bearer ${CLIENT.token}`) return false;
    try {
      const { payload } = await compactVerify(body.signature, hubJwks!);
      return canonicalize(JSON.parse(new TextDecoder().decode(payload))) === canonicalize({ header: body.header, message: body.message });
    } catch {
      return false;
    }
  }

  async function handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse) {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/.well-known/jwks.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [key.publicJwk] }));
    if (url === '/oauth2/token') {
      const form = new URLSearchParams(raw);
      const ok = form.get('grant_type') === 'client_credentials' && form.get('client_id') === CLIENT.id && form.get('client_secret') === CLIENT.secret;
      return res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { access_token: CLIENT.token, expires_in: 300 } : { error: 'invalid_client' }));
    }
    const body = JSON.parse(raw) as Json;
    requests.push({ path: url, body });
    if (!(await verified(req, body))) {
      problems.push(`${url}: token or signature refused`);
      return res.writeHead(401).end();
    }
    const callback = new URL(String(body.header.sender_uri)).pathname;
    const ack = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ message: { ack_status: 'ACK', timestamp: new Date().toISOString(), correlation_id: `GW-${++correlations}` } }));
    if (url === '/disburse') {
      check('disburse.request.json', body);
      const entries = pay(body.message.disbursements);
      if (state.stall > 0) {
        state.stall--;
        return; // paid, but the answer never comes
      }
      ack();
      if (state.silent) return;
      lastOnDisburse = { path: callback, message: { transaction_id: body.message.transaction_id, disbursements_status: entries.map(statusOf) } };
      await post(callback, 'on-disburse', lastOnDisburse.message);
    } else if (url === '/disburse/txn/status') {
      check('txn-status.request.json', body);
      ack();
      const known = (body.message.txnstatus_request.attribute_value as string[]).flatMap((ref) => (ledger.has(ref) ? [ledger.get(ref)!] : []));
      await post(callback, 'txn-on-status', {
        transaction_id: body.message.transaction_id,
        correlation_id: `GW-${++correlations}`,
        txnstatus_response: { txn_type: 'on-disburse', txn_status: { transaction_id: body.message.transaction_id, disbursements_status: known.map(statusOf) } },
      });
    } else {
      res.writeHead(404).end();
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks).toString('utf8'), res).catch((err: Error) => {
        problems.push(`${req.url}: ${err.message}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    base,
    state,
    ledger,
    requests,
    /** Everything that did not validate or verify, on either side. */
    problems,
    /** The gateway's configuration on the hub (HUB_PAYMENT_GATEWAYS entry). */
    config: (extra: Json = {}) => ({
      adapter: 'dci-disburse',
      base_url: base,
      jwks_url: `${base}/.well-known/jwks.json`,
      auth: { token_url: `${base}/oauth2/token`, client_id: CLIENT.id, client_secret: CLIENT.secret },
      receiver_id: SENDER,
      payer_fa: 'account:0001@central-bank',
      payer_name: 'Cash transfer programme',
      ...extra,
    }),
    /** Where the hub listens and the keys it signs with. */
    connect(url: string, jwks: JSONWebKeySet) {
      hubBase = url.replace(/\/+$/, '');
      hubJwks = createLocalJWKSet(jwks);
    },
    rejectFa,
    /** Posts the last on-disburse again. */
    replay: () => post(lastOnDisburse!.path, 'on-disburse', lastOnDisburse!.message),
    post,
    lastOnDisburse: () => lastOnDisburse,
    /** Another key with the gateway's kid, as a forger would have. */
    forgedKey: () => signingKey('gw-1'),
  };
}
