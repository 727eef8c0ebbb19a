import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import {
  calculateJwkThumbprint,
  compactDecrypt,
  CompactEncrypt,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { appendAudit } from '../audit/log.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { signingKeys } from '../db/schema/index.js';
import type { Actor } from './actor.js';

export type KeyAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

/**
 * The hub's DCI message encryption key: RSA-OAEP-256 wraps a fresh content key, so a partner's JWE carries exactly the
 * spec's EncryptedMessage header (alg, enc, kid) and encrypted_key, with no ephemeral key to place.
 */
export const ENCRYPTION_ALGORITHM = 'RSA-OAEP-256';

type KeyUse = 'sig' | 'enc';

export interface KeyStoreOptions {
  algorithm: KeyAlgorithm;
  /** Encrypts private keys at rest (PBES2 JWE) when set. */
  secret: string | undefined;
  /** Longest token lifetime: a retired key stays published this long (plus slack) so its tokens still verify. */
  tokenTtlSeconds: number;
}

export const keyStoreOptions = (config: Config): KeyStoreOptions => ({
  algorithm: config.keyAlgorithm,
  secret: config.hubSecret,
  tokenTtlSeconds: config.tokenTtlSeconds,
});

export interface SigningKey {
  kid: string;
  alg: KeyAlgorithm;
  key: CryptoKey;
}

export interface DecryptionKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

export class KeyStoreError extends Error {}

/** Serialises key creation and rotation across instances sharing one PostgreSQL. */
const KEY_LOCK = 7_244_003;
/** How long an instance keeps using its cached active key before looking for a newer one. */
const ACTIVE_KEY_CACHE_MS = 60_000;
/** Lower bound between two reloads triggered by an unknown `kid`. */
const RELOAD_INTERVAL_MS = 5_000;

const PRIVATE_KEY_JWE = { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 100_000 } as const;

/**
 * The hub's own key pairs, kept in the database so every instance signs, verifies and decrypts with the same keys.
 * One signing key and one encryption key are active; rotated-out keys stay in the JWKS (and encryption keys keep
 * decrypting) until every token they signed has expired, which also covers partners' cached copies of the JWKS.
 */
export class KeyStore {
  private active: { key: SigningKey; loadedAt: number } | undefined;
  private verification = new Map<string, CryptoKey>();
  private lastReload = 0;
  private reloading: Promise<void> | undefined;
  /** Unsealed decryption keys by kid, with the end of their publication (null while active). */
  private decryption = new Map<string, { key: DecryptionKey; until: Date | null }>();
  private lastDecryptionReload = 0;
  private decryptionReloading: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: KeyStoreOptions,
  ) {}

  /** Creates the first key pairs if there are none; encrypts stored plaintext keys once HUB_SECRET is set. */
  async initialise(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
      const rows = await tx.select().from(signingKeys);
      for (const row of rows) {
        if (row.encrypted === 'none' && this.options.secret) {
          await tx
            .update(signingKeys)
            .set({ privateKey: await this.seal(row.privateKey), encrypted: 'pbes2' })
            .where(eq(signingKeys.kid, row.kid));
        }
        if (row.encrypted !== 'none' && !this.options.secret) {
          throw new KeyStoreError('HUB_SECRET: the signing keys are encrypted; set HUB_SECRET to the value used before');
        }
        // A changed HUB_SECRET must stop the start here, not fail every token request later.
        if (row.encrypted !== 'none' && row.retiredAt === null) await this.unseal(row.privateKey, row.encrypted);
      }
      for (const use of ['sig', 'enc'] as const) {
        if (!rows.some((r) => r.retiredAt === null && r.use === use)) await this.insertNewKey(tx, use);
      }
    });
  }

  /**
   * Makes new active signing and encryption keys; the previous ones sign (and are encrypted to) no more, but stay
   * published, and the encryption key keeps decrypting, for one token lifetime.
   */
  async rotate(actor: Pick<Actor, 'id'>): Promise<{ kid: string; encryption_kid: string; retired: string[] }> {
    const result = await this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
      const now = new Date();
      const publishUntil = new Date(now.getTime() + (this.options.tokenTtlSeconds + 300) * 1000);
      const retired = await tx
        .update(signingKeys)
        .set({ retiredAt: now, publishUntil })
        .where(isNull(signingKeys.retiredAt))
        .returning({ kid: signingKeys.kid });
      const kid = await this.insertNewKey(tx, 'sig');
      const encryptionKid = await this.insertNewKey(tx, 'enc');
      const outcome = { kid, encryption_kid: encryptionKid, retired: retired.map((r) => r.kid) };
      await appendAudit(tx, actor, { action: 'key.rotate', entityType: 'signing_key', entityId: kid, after: outcome });
      return outcome;
    });
    this.active = undefined;
    return result;
  }

  async signingKey(): Promise<SigningKey> {
    if (this.active && Date.now() - this.active.loadedAt < ACTIVE_KEY_CACHE_MS) return this.active.key;
    const [row] = await this.db
      .select()
      .from(signingKeys)
      .where(and(isNull(signingKeys.retiredAt), eq(signingKeys.use, 'sig')))
      .orderBy(desc(signingKeys.createdAt))
      .limit(1);
    if (!row) throw new KeyStoreError('no active signing key: the key store was not initialised');
    const key = await importJWK(JSON.parse(await this.unseal(row.privateKey, row.encrypted)) as JWK, row.alg);
    this.active = { key: { kid: row.kid, alg: row.alg as KeyAlgorithm, key: key as CryptoKey }, loadedAt: Date.now() };
    return this.active.key;
  }

  /** Public keys to publish: the active one and retired ones still within their publication window. */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    const rows = await this.publishedRows();
    return { keys: rows.map((r) => r.publicJwk as JWK) };
  }

  /**
   * Verification key for a token's `kid`. An unknown kid reloads the published keys from the database, at most once
   * per RELOAD_INTERVAL_MS; concurrent requests share one reload.
   */
  async verificationKey(kid: string | undefined): Promise<CryptoKey | undefined> {
    if (kid === undefined) return undefined;
    const cached = this.verification.get(kid);
    if (cached) return cached;
    if (!this.reloading && Date.now() - this.lastReload >= RELOAD_INTERVAL_MS) {
      this.lastReload = Date.now();
      this.reloading = this.loadVerificationKeys().finally(() => {
        this.reloading = undefined;
      });
    }
    if (this.reloading) await this.reloading;
    return this.verification.get(kid);
  }

  /** The active encryption key's id: what a JWE without a `kid` is taken to be addressed to. */
  async encryptionKid(): Promise<string | undefined> {
    const [row] = await this.db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(and(isNull(signingKeys.retiredAt), eq(signingKeys.use, 'enc')))
      .orderBy(desc(signingKeys.createdAt))
      .limit(1);
    return row?.kid;
  }

  /**
   * The private key of a published encryption key, by `kid`. Unsealing a key costs a PBES2 derivation, so keys are
   * kept once loaded. The list is reloaded for an unknown kid (at most once per RELOAD_INTERVAL_MS) and when older
   * than ACTIVE_KEY_CACHE_MS, which picks up rotations by other instances; a key whose publication window has closed
   * decrypts no more.
   */
  async decryptionKey(kid: string): Promise<DecryptionKey | undefined> {
    const age = Date.now() - this.lastDecryptionReload;
    if (!this.decryptionReloading && (age >= ACTIVE_KEY_CACHE_MS || (!this.decryption.has(kid) && age >= RELOAD_INTERVAL_MS))) {
      this.lastDecryptionReload = Date.now();
      this.decryptionReloading = this.loadDecryptionKeys().finally(() => {
        this.decryptionReloading = undefined;
      });
    }
    if (this.decryptionReloading) await this.decryptionReloading;
    const entry = this.decryption.get(kid);
    if (!entry || (entry.until !== null && entry.until <= new Date())) return undefined;
    return entry.key;
  }

  private async loadVerificationKeys(): Promise<void> {
    const next = new Map<string, CryptoKey>();
    for (const row of await this.publishedRows()) {
      if (row.use !== 'sig') continue;
      next.set(row.kid, (await importJWK(row.publicJwk as JWK, row.alg)) as CryptoKey);
    }
    this.verification = next;
  }

  private async loadDecryptionKeys(): Promise<void> {
    const next = new Map<string, { key: DecryptionKey; until: Date | null }>();
    for (const row of await this.publishedRows()) {
      if (row.use !== 'enc') continue;
      const known = this.decryption.get(row.kid);
      const key = known?.key ?? {
        kid: row.kid,
        alg: row.alg,
        key: (await importJWK(JSON.parse(await this.unseal(row.privateKey, row.encrypted)) as JWK, row.alg)) as CryptoKey,
      };
      next.set(row.kid, { key, until: row.retiredAt === null ? null : row.publishUntil });
    }
    this.decryption = next;
  }

  /** Active and still-published keys, newest first; of one generation the signing key before the encryption key. */
  private publishedRows() {
    return this.db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, new Date())))
      .orderBy(desc(signingKeys.createdAt), desc(signingKeys.use));
  }

  private async insertNewKey(tx: Db, use: KeyUse): Promise<string> {
    const alg = use === 'sig' ? this.options.algorithm : ENCRYPTION_ALGORITHM;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJson = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg });
    await tx.insert(signingKeys).values({
      kid,
      alg,
      use,
      publicJwk: { ...publicJwk, kid, alg, use },
      privateKey: this.options.secret ? await this.seal(privateJson) : privateJson,
      encrypted: this.options.secret ? 'pbes2' : 'none',
    });
    this.verification.clear();
    this.lastReload = 0;
    this.lastDecryptionReload = 0;
    return kid;
  }

  private async seal(plaintext: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader(PRIVATE_KEY_JWE)
      .encrypt(new TextEncoder().encode(this.options.secret));
  }

  private async unseal(stored: string, scheme: string): Promise<string> {
    if (scheme === 'none') return stored;
    if (!this.options.secret) throw new KeyStoreError('HUB_SECRET: needed to decrypt the signing keys');
    try {
      const { plaintext } = await compactDecrypt(stored, new TextEncoder().encode(this.options.secret), {
        keyManagementAlgorithms: [PRIVATE_KEY_JWE.alg],
        maxPBES2Count: PRIVATE_KEY_JWE.p2c,
      });
      return new TextDecoder().decode(plaintext);
    } catch {
      throw new KeyStoreError('HUB_SECRET: does not decrypt the stored signing keys (was it changed?)');
    }
  }
}
