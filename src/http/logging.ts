import type { LoggerOptions } from 'pino';
import type { Config } from '../config.js';

/**
 * Keys whose values never reach a log line: secrets and tokens, and the personal data of the registry. They are
 * redacted at the top level of a log object and one and two levels down (pino's paths take no deeper wildcard).
 */
export const REDACTED_KEYS = [
  // secrets, tokens, signatures
  'authorization',
  'cookie',
  'set-cookie',
  'client_secret',
  'client_assertion',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'password',
  'secret',
  'secret_hash',
  'secretHash',
  'signature',
  'private_key_jwk',
  // personal data
  'given_name',
  'middle_name',
  'family_name',
  'name',
  'birth_date',
  'birthDate',
  'death_date',
  'phone',
  'identifiers',
  'identifier',
  'identifier_value',
  'attributes',
] as const;

const keyPath = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`);
const join = (prefix: string, key: string) => (keyPath(key).startsWith('[') ? `${prefix}${keyPath(key)}` : `${prefix}.${key}`);

export const REDACT_PATHS = REDACTED_KEYS.flatMap((key) => [keyPath(key), join('*', key), join('*.*', key)]);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Error fields safe to log (what went wrong and where, never the values involved), by the names postgres.js and PGlite give them. */
const SAFE_FIELDS: Record<string, string[]> = {
  code: ['code'],
  statusCode: ['statusCode'],
  severity: ['severity'],
  constraint: ['constraint_name', 'constraint'],
  table: ['table_name', 'table'],
  schema: ['schema_name', 'schema'],
  column: ['column_name', 'column'],
  routine: ['routine'],
};

type ErrorLike = Error & Record<string, unknown>;

/**
 * A database error's message without the values in it: Drizzle's "Failed query: SQL params: …" says nothing more than
 * that; PostgreSQL's own messages quote a bad value last (`invalid input syntax for type date: "…"`).
 */
function safeMessage(err: ErrorLike, database: boolean): string {
  const message = String(err.message ?? '');
  if (message.startsWith('Failed query:')) return 'database query failed (SQL and parameters not logged)';
  return database ? message.replace(/: ".*"$/s, ': "[redacted]"') : message;
}

/**
 * pino's `err` serializer, by allow-list: type, message, stack, code and the constraint/table/column names; never
 * SQL text, query parameters (Drizzle's `params`, postgres.js' `parameters`), PostgreSQL's `detail` and `where` (they
 * carry key values and whole rows: `Key (type, value)=(NIN, …) already exists`) or driver internals. Causes likewise.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 4) return err instanceof Error ? { type: err.name } : err;
  const e = err as ErrorLike;
  const database = (typeof e.code === 'string' && SQLSTATE.test(e.code)) || 'query' in e || 'params' in e || 'parameters' in e;
  const message = safeMessage(e, database);
  const out: Record<string, unknown> = { type: e.constructor?.name ?? e.name, message };
  if (typeof e.stack === 'string') {
    const frames = e.stack.indexOf('\n    at ');
    out.stack = `${e.name}: ${message}${frames >= 0 ? e.stack.slice(frames) : ''}`;
  }
  for (const [field, names] of Object.entries(SAFE_FIELDS)) {
    const value = names.map((name) => e[name]).find((v) => typeof v === 'string' || typeof v === 'number');
    if (value !== undefined) out[field] = value;
  }
  if (e.cause !== undefined) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/** The query string's values are personal data (FHIR `name=`, `birthdate=`, identifier searches): only its keys are logged. */
export function redactedUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const keys = new URLSearchParams(url.slice(at + 1)).keys();
  return `${url.slice(0, at)}?${[...new Set(keys)].map((k) => `${encodeURIComponent(k)}=[redacted]`).join('&')}`;
}

interface RequestLike {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/** The options of every pino logger the hub makes (serve, tests that log). */
export const loggerOptions = (config: Pick<Config, 'logLevel'>): LoggerOptions => ({
  level: config.logLevel,
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  serializers: {
    err: serializeError,
    error: serializeError,
    req: (req: RequestLike) => ({ method: req.method, url: redactedUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort }),
  },
});
