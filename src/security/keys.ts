import { desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
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

export class KeyStoreError extends Error {}

/** Serialises key creation and rotation across instances sharing one PostgreSQL. */
const KEY_LOCK = 7_244_003;
/** How long an instance keeps using its cached active key before looking for a newer one. */
const ACTIVE_KEY_CACHE_MS = 60_000;
/** Lower bound between two reloads triggered by an unknown `kid`. */
const RELOAD_INTERVAL_MS = 5_000;

const PRIVATE_KEY_JWE = { alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 100_000 } as const;

/**
 * The hub's own key pairs, kept in the database so every instance signs and verifies with the same keys.
 * One key is active (signs); rotated-out keys stay in the JWKS until every token they signed has expired.
 */
export class KeyStore {
  private active: { key: SigningKey; loadedAt: number } | undefined;
  private verification = new Map<string, CryptoKey>();
  private lastReload = 0;
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: KeyStoreOptions,
  ) {}

  /** Creates the first key pair if there is none; encrypts stored plaintext keys once HUB_SECRET is set. */
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
      if (!rows.some((r) => r.retiredAt === null)) await this.insertNewKey(tx);
    });
  }

  /** Makes a new active key; the previous one signs no more but stays published for one token lifetime. */
  async rotate(actor: Pick<Actor, 'id'>): Promise<{ kid: string; retired: string[] }> {
    const result = await this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${KEY_LOCK})`);
      const now = new Date();
      const publishUntil = new Date(now.getTime() + (this.options.tokenTtlSeconds + 300) * 1000);
      const retired = await tx
        .update(signingKeys)
        .set({ retiredAt: now, publishUntil })
        .where(isNull(signingKeys.retiredAt))
        .returning({ kid: signingKeys.kid });
      const kid = await this.insertNewKey(tx);
      const outcome = { kid, retired: retired.map((r) => r.kid) };
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
      .where(isNull(signingKeys.retiredAt))
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

  private async loadVerificationKeys(): Promise<void> {
    const next = new Map<string, CryptoKey>();
    for (const row of await this.publishedRows()) {
      next.set(row.kid, (await importJWK(row.publicJwk as JWK, row.alg)) as CryptoKey);
    }
    this.verification = next;
  }

  private publishedRows() {
    return this.db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.publishUntil, new Date())))
      .orderBy(desc(signingKeys.createdAt));
  }

  private async insertNewKey(tx: Db): Promise<string> {
    const alg = this.options.algorithm;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJson = JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg });
    await tx.insert(signingKeys).values({
      kid,
      alg,
      publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
      privateKey: this.options.secret ? await this.seal(privateJson) : privateJson,
      encrypted: this.options.secret ? 'pbes2' : 'none',
    });
    this.verification.clear();
    this.lastReload = 0;
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
