import { bigint, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { locations } from './locations.js';

/** OAuth 2 clients: partner systems, integrators and admin tools. */
export const clients = pgTable('clients', {
  id: uuid('id').primaryKey().defaultRandom(),
  clientId: text('client_id').notNull().unique(),
  name: text('name').notNull(),
  /** scrypt hash of the client secret; the secret itself is shown once at creation or rotation. */
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').array().notNull(),
  /** Public keys for private_key_jwt (RFC 7523). */
  jwks: jsonb('jwks').$type<{ keys: ({ kty: string } & Record<string, unknown>)[] }>(),
  /** Geographic scope: the client sees only records located in this subtree. */
  locationId: uuid('location_id').references(() => locations.id),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }).notNull().defaultNow(),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
  /** DCI partner settings: header sender_id (null = the client_id), callback base, remote JWKS, signature policy. */
  dciSenderId: text('dci_sender_id').unique(),
  dciCallbackUrl: text('dci_callback_url'),
  dciJwksUrl: text('dci_jwks_url'),
  /** required | optional | off; null = required. */
  dciSignaturePolicy: text('dci_signature_policy'),
});

/**
 * The hub's own key pairs: signing keys (`use` sig) and DCI message encryption keys (`use` enc). Retired keys stay
 * published (and, for enc, usable for decryption) until tokens they signed have expired.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  /** sig | enc, as the JWK `use` it is published with. */
  use: text('use').notNull().default('sig'),
  publicJwk: jsonb('public_jwk').$type<Record<string, unknown>>().notNull(),
  /** Private JWK as JSON, or a PBES2 JWE of it when HUB_SECRET is set. */
  privateKey: text('private_key').notNull(),
  encrypted: text('encrypted').notNull().default('none'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp('retired_at', { withTimezone: true }),
  publishUntil: timestamp('publish_until', { withTimezone: true }),
});

/** jti of accepted private_key_jwt assertions, kept until they expire, so none is used twice. */
export const usedAssertions = pgTable('used_assertions', {
  jti: text('jti').primaryKey(),
  clientId: text('client_id').notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
});

/**
 * Failed client authentications at the token endpoint by claimed client_id (`client:…`, known or not) and by address
 * (`address:…`), kept in the database so that every instance sees the same count and lock.
 */
export const authFailures = pgTable(
  'auth_failures',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** Locks in a row: each lasts twice the one before. */
    lockouts: integer('lockouts').notNull().default(0),
    /** When the row may be forgotten (its window and any lock over, plus one window). */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('auth_failures_expires_at_idx').on(t.expiresAt)],
);
