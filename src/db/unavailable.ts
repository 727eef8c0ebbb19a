/**
 * Failures that mean "the database cannot be reached right now" rather than "this request is wrong": the request may
 * succeed if retried, so every surface answers 503 with Retry-After instead of 500. SQLSTATE class 08 (connection
 * exception), 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now: a restart), 53300 (too many
 * connections); postgres.js' own connection codes; and the socket errors it passes on while the server is down.
 */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
const CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Seconds a client is asked to wait before retrying while the database is unavailable (a restart takes a few). */
export const RETRY_AFTER_SECONDS = 5;

/** The code (SQLSTATE or socket/driver code) when `err` (or what it wraps: Drizzle, pg-boss) says the database is unreachable. */
export function databaseUnavailable(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    // undici's `fetch failed` wraps the same socket codes for an outbound call: that is not the database.
    if (e instanceof TypeError && e.message === 'fetch failed') return undefined;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SQLSTATE.test(code) || CODES.has(code))) return code;
  }
  return undefined;
}
