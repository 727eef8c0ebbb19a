import { and, eq, isNull } from 'drizzle-orm';
import type { JWK } from 'jose';
import type { Db } from '../db/client.js';
import { clients } from '../db/schema/index.js';
import { findEnabledClient, type SignaturePolicy } from '../security/clients.js';
import { DciError } from './codes.js';
import { encryptionKeyIn, type EncryptionKey } from './encryption.js';
import { localKeys, remoteJwks, remoteKeys, type KeyResolver } from './signatures.js';

/** A DCI partner: an OAuth client with DCI settings. */
export interface Partner {
  clientId: string;
  senderId: string;
  callbackUrl: string | null;
  policy: SignaturePolicy;
  resolveKey: KeyResolver;
  /** The partner's key (`use` enc) our encrypted answers go to; undefined when it publishes none. */
  encryptionKey(): Promise<EncryptionKey | undefined>;
}

type ClientRow = NonNullable<Awaited<ReturnType<typeof findEnabledClient>>>;

/** From the registered key set when there is one, else from the jwks_url. */
const encryptionKeyOf = async (row: ClientRow) =>
  encryptionKeyIn(row.jwks ? (row.jwks as { keys: JWK[] }) : row.dciJwksUrl ? await remoteJwks(row.dciJwksUrl) : undefined);

/** The partner behind the access token; its header sender_id must be the one registered for it. */
export async function partnerFor(db: Db, clientId: string, headerSenderId: string): Promise<Partner> {
  const row = await findEnabledClient(db, clientId);
  if (!row) throw new DciError(401, 'err.request.unauthorized', 'the client is disabled or no longer exists');
  const senderId = row.dciSenderId ?? row.clientId;
  if (headerSenderId !== senderId) {
    throw new DciError(403, 'err.sender_id.invalid', `sender_id "${headerSenderId}" is not the one registered for this client`);
  }
  let resolveKey: KeyResolver = async () => undefined;
  if (row.jwks) resolveKey = await localKeys(row.jwks as { keys: JWK[] });
  else if (row.dciJwksUrl) resolveKey = remoteKeys(row.dciJwksUrl);
  return {
    clientId: row.clientId,
    senderId,
    callbackUrl: row.dciCallbackUrl,
    policy: (row.dciSignaturePolicy ?? 'required') as SignaturePolicy,
    resolveKey,
    encryptionKey: () => encryptionKeyOf(row),
  };
}

/** The encryption key of an enabled partner, for answers sent after the exchange (callbacks, notify). */
export async function partnerEncryptionKey(db: Db, clientId: string): Promise<EncryptionKey | undefined> {
  const row = await findEnabledClient(db, clientId);
  return row ? encryptionKeyOf(row) : undefined;
}

/** Client ids of enabled partners whose messages are never verified (signature_policy off), for a start-up warning. */
export async function unsignedPartners(db: Db): Promise<string[]> {
  const rows = await db
    .select({ clientId: clients.clientId })
    .from(clients)
    .where(and(eq(clients.dciSignaturePolicy, 'off'), isNull(clients.disabledAt)));
  return rows.map((r) => r.clientId);
}
