import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { and, asc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import { importJWK, type JWK } from 'jose';
import { appendAudit } from '../audit/log.js';
import type { Db } from '../db/client.js';
import { decodeCursor, toPage, type Page } from '../db/keyset.js';
import { clients } from '../db/schema/index.js';
import { HubError, notFound, unprocessable } from '../errors.js';
import { hasScope, type Actor } from './actor.js';
import { ENCRYPTION_ALGORITHMS, encryptionAlgorithmOf, signingAlgorithmOf } from './jwk-algorithms.js';
import { assertLocationInScope, withinScope } from './geo-scope.js';
import { outbound, OutboundUrlError } from './outbound.js';
import { SCOPE_NAMES } from './scopes.js';
import { hashSecret, newSecret, verifySecret } from './secrets.js';

export const ScopeName = Type.Union(
  SCOPE_NAMES.map((s) => Type.Literal(s)),
  { description: 'See the README for what each scope allows; `admin` holds them all.' },
);

const Jwks = Type.Object(
  { keys: Type.Array(Type.Object({ kty: Type.String() }, { additionalProperties: true }), { minItems: 1, maxItems: 10 }) },
  {
    description:
      'Public keys: for private_key_jwt client authentication (RFC 7523) and DCI message signatures (`use` sig or no `use`), and the key DCI answers are encrypted to (`use` enc).',
  },
);

export const SIGNATURE_POLICIES = ['required', 'optional', 'off'] as const;
export type SignaturePolicy = (typeof SIGNATURE_POLICIES)[number];

const HttpUrl = (description: string) => Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000, description });

export const DciSettings = Type.Object(
  {
    sender_id: Type.Optional(
      Type.Union([Type.String({ pattern: '^[A-Za-z0-9._:@/-]{1,128}$' }), Type.Null()], {
        description: 'The `header.sender_id` this partner uses in DCI messages; the client_id when null or omitted.',
      }),
    ),
    callback_url: Type.Optional(
      Type.Union([HttpUrl('Base URL of the partner\'s DCI callbacks; every `sender_uri` must start with it.'), Type.Null()]),
    ),
    jwks_url: Type.Optional(
      Type.Union([HttpUrl('Where the partner publishes its signing keys and its encryption key (used when `jwks` is not registered).'), Type.Null()]),
    ),
    signature_policy: Type.Optional(
      Type.Union(
        SIGNATURE_POLICIES.map((p) => Type.Literal(p)),
        { description: '`required` (default): every message signed; `optional`: checked when present; `off`: never checked.' },
      ),
    ),
  },
  { additionalProperties: false, description: 'DCI partner settings (see the README, DCI section).' },
);
export type DciSettings = Static<typeof DciSettings>;

export const ClientInput = Type.Object(
  {
    client_id: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9._:-]{3,128}$', description: 'Chosen id; generated when omitted.' }),
    ),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Array(ScopeName, { minItems: 1, uniqueItems: true }),
    jwks: Type.Optional(Jwks),
    location_id: Type.Optional(
      Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
        description: 'Geographic scope: the client only sees records in this location subtree.',
      }),
    ),
    dci: Type.Optional(DciSettings),
  },
  { additionalProperties: false },
);
export type ClientInput = Static<typeof ClientInput>;

export const ClientPatch = Type.Object(
  { jwks: Type.Optional(Type.Union([Jwks, Type.Null()])), dci: Type.Optional(DciSettings) },
  { additionalProperties: false, minProperties: 1 },
);
export type ClientPatch = Static<typeof ClientPatch>;

const DciSettingsOut = Type.Object({
  sender_id: Type.String(),
  callback_url: Type.Union([Type.String(), Type.Null()]),
  jwks_url: Type.Union([Type.String(), Type.Null()]),
  signature_policy: Type.Union(SIGNATURE_POLICIES.map((p) => Type.Literal(p))),
});

export const Client = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  location_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  jwks: Type.Union([Jwks, Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  secret_rotated_at: Type.String({ format: 'date-time' }),
  disabled_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  dci: DciSettingsOut,
});
export type Client = Static<typeof Client>;

export const ClientCredentials = Type.Object({
  client_id: Type.String(),
  client_secret: Type.String({ description: 'Shown once: only a hash is stored.' }),
  client: Client,
});
export type ClientCredentials = Static<typeof ClientCredentials>;

type Row = typeof clients.$inferSelect;

function toClient(row: Row): Client {
  return {
    client_id: row.clientId,
    name: row.name,
    scopes: row.scopes,
    location_id: row.locationId,
    jwks: row.jwks ?? null,
    created_at: row.createdAt.toISOString(),
    secret_rotated_at: row.secretRotatedAt.toISOString(),
    disabled_at: row.disabledAt?.toISOString() ?? null,
    dci: {
      sender_id: row.dciSenderId ?? row.clientId,
      callback_url: row.dciCallbackUrl,
      jwks_url: row.dciJwksUrl,
      signature_policy: (row.dciSignaturePolicy ?? 'required') as SignaturePolicy,
    },
  };
}

/** Column values for the DCI settings given (an omitted setting is left as it is). */
function dciColumns(dci: DciSettings | undefined): Partial<typeof clients.$inferInsert> {
  if (!dci) return {};
  const set: Partial<typeof clients.$inferInsert> = {};
  if (dci.sender_id !== undefined) set.dciSenderId = dci.sender_id;
  if (dci.callback_url !== undefined) set.dciCallbackUrl = dci.callback_url;
  if (dci.jwks_url !== undefined) set.dciJwksUrl = dci.jwks_url;
  if (dci.signature_policy !== undefined) set.dciSignaturePolicy = dci.signature_policy;
  return set;
}

/** The partner URLs the hub will call, against the outbound policy (checked again at each connection). */
async function checkDciUrls(dci: DciSettings | undefined) {
  for (const key of ['callback_url', 'jwks_url'] as const) {
    const value = dci?.[key];
    if (typeof value !== 'string') continue;
    try {
      await outbound().check(value);
    } catch (err) {
      if (err instanceof OutboundUrlError) throw unprocessable(`dci.${key}: ${err.message}`, `/dci/${key}`);
      throw err;
    }
  }
}

async function checkJwks(jwks: { keys: Record<string, unknown>[] }) {
  for (const [i, jwk] of jwks.keys.entries()) {
    if ('d' in jwk || 'k' in jwk) throw unprocessable('only public keys may be registered', `/jwks/keys/${i}`);
    const alg = jwk.use === 'enc' ? encryptionAlgorithmOf(jwk) : signingAlgorithmOf(jwk);
    if (alg === undefined) {
      throw unprocessable(`an encryption key (use "enc") must be RSA or EC/OKP with alg one of ${ENCRYPTION_ALGORITHMS.join(', ')}`, `/jwks/keys/${i}`);
    }
    try {
      await importJWK(jwk as JWK, alg);
    } catch (err) {
      throw unprocessable(`not a usable public key: ${(err as Error).message}`, `/jwks/keys/${i}`);
    }
  }
}

/**
 * Registers a client and returns its secret (only here and on rotation). A caller can only grant scopes it holds
 * and a geographic scope inside its own.
 */
export function createClient(db: Db, actor: Actor, input: ClientInput): Promise<ClientCredentials> {
  return db.transaction(async (tx) => {
    input.scopes.forEach((scope, i) => {
      if (!hasScope(actor, scope)) {
        throw new HubError('forbidden', `you cannot grant the scope ${scope}, which you do not hold`, [
          { pointer: `/scopes/${i}`, detail: 'not held by the caller' },
        ]);
      }
    });
    const locationId = input.location_id ?? actor.locationId;
    await assertLocationInScope(tx, actor, locationId, '/location_id');
    if (input.jwks) await checkJwks(input.jwks);
    await checkDciUrls(input.dci);
    const secret = newSecret();
    const [row] = await tx
      .insert(clients)
      .values({
        clientId: input.client_id ?? randomUUID(),
        name: input.name,
        secretHash: await hashSecret(secret),
        scopes: input.scopes,
        jwks: input.jwks ?? null,
        locationId,
        ...dciColumns(input.dci),
      })
      .returning();
    const client = toClient(row!);
    await appendAudit(tx, actor, { action: 'client.create', entityType: 'client', entityId: client.client_id, after: client });
    return { client_id: client.client_id, client_secret: secret, client };
  });
}

const visible = (actor: Actor, clientId: string) => and(eq(clients.clientId, clientId), withinScope(actor, clients.locationId));

export async function getClient(db: Db, actor: Actor, clientId: string): Promise<Client> {
  const [row] = await db.select().from(clients).where(visible(actor, clientId));
  if (!row) throw notFound('client', clientId);
  return toClient(row);
}

export async function listClients(db: Db, actor: Actor, limit: number, cursor: string | undefined): Promise<Page<Client>> {
  const conditions: (SQL | undefined)[] = [withinScope(actor, clients.locationId)];
  if (cursor !== undefined) conditions.push(gt(clients.clientId, decodeCursor(cursor, (k) => k.length <= 128)));
  const rows = await db
    .select()
    .from(clients)
    .where(and(...conditions))
    .orderBy(asc(clients.clientId))
    .limit(limit + 1);
  return toPage(rows.map(toClient), limit, (c) => c.client_id);
}

async function changeClient(db: Db, actor: Actor, clientId: string, action: string, set: Partial<typeof clients.$inferInsert>) {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(clients).where(visible(actor, clientId)).for('update');
    if (!before) throw notFound('client', clientId);
    const [row] = await tx.update(clients).set(set).where(eq(clients.clientId, clientId)).returning();
    const after = toClient(row!);
    await appendAudit(tx, actor, { action, entityType: 'client', entityId: clientId, before: toClient(before), after });
    return after;
  });
}

/** A disabled client gets no new tokens, and its outstanding tokens stop working. */
export const disableClient = (db: Db, actor: Actor, clientId: string) =>
  changeClient(db, actor, clientId, 'client.disable', { disabledAt: new Date() });

export const enableClient = (db: Db, actor: Actor, clientId: string) =>
  changeClient(db, actor, clientId, 'client.enable', { disabledAt: null });

export async function rotateClientSecret(db: Db, actor: Actor, clientId: string): Promise<ClientCredentials> {
  const secret = newSecret();
  const client = await changeClient(db, actor, clientId, 'client.rotate_secret', {
    secretHash: await hashSecret(secret),
    secretRotatedAt: new Date(),
  });
  return { client_id: clientId, client_secret: secret, client };
}

/** Changes a client's public keys or DCI settings. */
export async function updateClient(db: Db, actor: Actor, clientId: string, patch: ClientPatch): Promise<Client> {
  if (patch.jwks) await checkJwks(patch.jwks);
  await checkDciUrls(patch.dci);
  return changeClient(db, actor, clientId, 'client.update', {
    ...(patch.jwks !== undefined ? { jwks: patch.jwks } : {}),
    ...dciColumns(patch.dci),
  });
}

/** The enabled client with this id, for token issuance and per-request checks. */
export async function findEnabledClient(db: Db, clientId: string): Promise<Row | undefined> {
  const [row] = await db
    .select()
    .from(clients)
    .where(and(eq(clients.clientId, clientId), isNull(clients.disabledAt)));
  return row;
}

/** client_secret_basic / client_secret_post: the enabled client whose secret matches, else undefined. */
/** A hash no secret matches, checked when there is no client, so that an unknown client takes as long to refuse as a wrong secret. */
let noClientHash: Promise<string> | undefined;

export async function authenticateWithSecret(db: Db, clientId: string, secret: string): Promise<Row | undefined> {
  const row = await findEnabledClient(db, clientId);
  if (!row) {
    await verifySecret(secret, await (noClientHash ??= hashSecret(newSecret())));
    return undefined;
  }
  return (await verifySecret(secret, row.secretHash)) ? row : undefined;
}

export async function hasAnyClient(db: Db): Promise<boolean> {
  const rows = await db.select({ id: clients.id }).from(clients).limit(1);
  return rows.length > 0;
}
