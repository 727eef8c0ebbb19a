import { createHash } from 'node:crypto';
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.js';
import type { AuthLockoutConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { queryRows } from '../db/query-rows.js';
import { authFailures } from '../db/schema/index.js';

/** Who an attempt counts against: the client_id it claims (whether that client exists or not) and its address. */
export interface AttemptSource {
  clientId?: string;
  address: string;
}

const AUDIT_ACTOR = { id: 'token-endpoint' };

/** A client_id as given, when it is short printable ASCII; otherwise its digest (no NUL or odd text in a key). */
const keyPart = (value: string) => (/^[\x20-\x7e]{1,200}$/.test(value) ? value : `sha256:${createHash('sha256').update(value).digest('hex')}`);

/**
 * Back-off on failed client authentication, in the database so that every instance counts and locks alike. After
 * `perClient` failures for one claimed client_id, or `perAddress` from one address, within the window, the key is
 * locked: every attempt is refused, even with the right credentials, for `lockSeconds`, doubled at each further lock
 * (up to `maxLockSeconds`). Unknown client_ids are counted and locked exactly like known ones, so a lock tells nothing
 * about which clients exist. A success clears the client's count, not the address's.
 */
export class AuthLockout {
  constructor(
    private readonly db: Db,
    private readonly settings: AuthLockoutConfig,
  ) {}

  private keys(source: AttemptSource): { key: string; limit: number }[] {
    const keys = [{ key: `address:${source.address}`, limit: this.settings.perAddress }];
    if (source.clientId !== undefined) keys.push({ key: `client:${keyPart(source.clientId)}`, limit: this.settings.perClient });
    return keys.filter((k) => k.limit > 0);
  }

  /** Seconds until every lock on the attempt's keys has ended; 0 when none is locked. By the database's clock, as all else here. */
  async lockedFor(source: AttemptSource): Promise<number> {
    const keys = this.keys(source).map((k) => k.key);
    if (keys.length === 0) return 0;
    const [row] = await this.db
      .select({ seconds: sql<string | null>`ceil(extract(epoch FROM max(${authFailures.lockedUntil}) - now()))` })
      .from(authFailures)
      .where(and(inArray(authFailures.key, keys), gt(authFailures.lockedUntil, sql`now()`)));
    return row?.seconds == null ? 0 : Number(row.seconds);
  }

  /** Counts a failed attempt against each of its keys, locking those that reach their limit. */
  async failed(source: AttemptSource): Promise<void> {
    const { windowSeconds } = this.settings;
    // Rows whose window and lock are long over carry nothing any more.
    await this.db.delete(authFailures).where(lt(authFailures.expiresAt, sql`now()`));
    for (const { key, limit } of this.keys(source)) {
      // One statement per key, so that instances counting at once never lose a failure. A row whose window is over
      // starts a new window.
      const [row] = await queryRows<{ failures: number }>(
        this.db,
        sql`INSERT INTO auth_failures AS f (key, failures, window_started_at, lockouts, expires_at)
            VALUES (${key}, 1, now(), 0, now() + make_interval(secs => ${windowSeconds}))
            ON CONFLICT (key) DO UPDATE SET
              failures = CASE WHEN f.window_started_at + make_interval(secs => ${windowSeconds}) <= now() THEN 1 ELSE f.failures + 1 END,
              window_started_at = CASE WHEN f.window_started_at + make_interval(secs => ${windowSeconds}) <= now() THEN now() ELSE f.window_started_at END,
              expires_at = greatest(f.expires_at, now() + make_interval(secs => ${windowSeconds}))
            RETURNING failures`,
      );
      if (Number(row!.failures) >= limit) await this.lock(key, limit);
    }
  }

  /** The lock and its audit entry commit together; of instances racing past the limit, only one locks. */
  private async lock(key: string, limit: number): Promise<void> {
    const { lockSeconds, maxLockSeconds, windowSeconds } = this.settings;
    await this.db.transaction(async (tx) => {
      const [locked] = await queryRows<{ locked_until: string | Date; lockouts: number }>(
        tx,
        sql`UPDATE auth_failures SET
              locked_until = now() + make_interval(secs => least(${lockSeconds}::float8 * power(2, lockouts), ${maxLockSeconds}::float8)),
              lockouts = lockouts + 1,
              failures = 0,
              window_started_at = now(),
              expires_at = now() + make_interval(secs => least(${lockSeconds}::float8 * power(2, lockouts), ${maxLockSeconds}::float8) + ${windowSeconds})
            WHERE key = ${key} AND failures >= ${limit}
            RETURNING locked_until, lockouts`,
      );
      if (!locked) return;
      const [kind, ...rest] = key.split(':');
      await appendAudit(tx, AUDIT_ACTOR, {
        action: 'auth.lockout',
        entityType: kind === 'client' ? 'client_id' : 'address',
        entityId: rest.join(':'),
        after: { failures: limit, locked_until: new Date(locked.locked_until).toISOString(), lockouts: Number(locked.lockouts) },
      });
    });
  }

  /** A successful authentication forgets the client's failures (and its escalation). */
  async succeeded(clientId: string): Promise<void> {
    await this.db.delete(authFailures).where(eq(authFailures.key, `client:${keyPart(clientId)}`));
  }
}
