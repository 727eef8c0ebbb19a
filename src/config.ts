import { isIP } from 'node:net';
import path from 'node:path';
import { FINANCIAL_ADDRESS, type PayeeAddressSource } from './adapters/payment/financial-address.js';
import { parseRegistries, RegistriesConfigError, type ExternalRegistryConfig } from './adapters/registry/config.js';
import type { DciPeerConfig } from './dci/client.js';
import type { Approvals } from './programmes/schemas.js';
import { allowHostProblem, OutboundPolicy, OutboundUrlError, type OutboundSettings } from './security/outbound.js';

/** Everything the hub reads from its environment, validated once at start-up. */
export interface Config {
  host: string;
  port: number;
  /** Directory for the embedded database and the bootstrap credentials. */
  dataDir: string;
  /** postgres:// URL; when absent the embedded PGlite database under dataDir is used. */
  databaseUrl: string | undefined;
  /** Public base URL of this hub: token issuer, default token audience, private_key_jwt audience. */
  publicUrl: string;
  tokenAudience: string;
  tokenTtlSeconds: number;
  /** Encrypts the hub's private keys at rest when set. */
  hubSecret: string | undefined;
  keyAlgorithm: 'ES256' | 'RS256' | 'EdDSA';
  bodyLimitBytes: number;
  /** Largest file `POST /api/v1/imports` accepts. */
  importMaxBytes: number;
  logLevel: string;
  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  shutdownGraceMs: number;
  /** Longest one SQL statement of a request may run, per surface (0: unbounded); PostgreSQL only. */
  statementTimeoutMs: { dci: number; fhir: number; api: number };
  /** FHIR `Identifier.system` URI of each registry identifier type that has an official one (e.g. NIN). */
  fhirIdentifierSystems: Record<string, string>;
  dci: DciConfig;
  /** Payment gateways by the name plans use. */
  paymentGateways: Record<string, PaymentGatewayConfig>;
  /** External registries (CRVS, social registries, FHIR servers) the hub consumes. */
  registries: ExternalRegistryConfig[];
  /** Maker-checker rule a programme created without one takes. */
  defaultApprovals: Partial<Approvals>;
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed: the caller's address for limits and lockouts. */
  trustProxy: string | undefined;
  rateLimit: RateLimitConfig;
  authLockout: AuthLockoutConfig;
  /** What outbound calls may reach (see security/outbound.ts). */
  outbound: OutboundSettings;
}

/** Requests allowed per window, counted in each instance's memory; 0 turns a limit off. */
export interface RateLimitConfig {
  perClient: number;
  perAddress: number;
  windowSeconds: number;
}

/** Failed client authentications allowed per window before a lock (0: never), and the first lock's length. */
export interface AuthLockoutConfig {
  perClient: number;
  perAddress: number;
  windowSeconds: number;
  lockSeconds: number;
  maxLockSeconds: number;
}

export type PaymentGatewayConfig =
  | { adapter: 'sandbox'; failure_rate: number; seed: number; settle: 'immediate' | 'deferred'; batch_size: number }
  | { adapter: 'file'; directory: string; batch_size: number }
  | DciDisburseConfig;

/** A DCI / G2P Connect disbursement API: where it is, how we authenticate, and what we tell it about the payer. */
export interface DciDisburseConfig extends Omit<DciPeerConfig, 'name'> {
  adapter: 'dci-disburse';
  /** Where its signing keys are published: its callbacks are verified against them. */
  jwks_url: string;
  /** The programme's account the payments are made from. */
  payer_fa: string;
  payer_name?: string;
  purpose?: string;
  /** Where each payee's financial address is read from in the registry. */
  payee_fa: PayeeAddressSource;
  batch_size: number;
  /** Delivery of each batch: attempts after the first, seconds before the first retry (doubled each time), timeout. */
  retries: number;
  retry_delay: number;
  timeout_ms: number;
}

/** A DCI query attribute backed by a key of the records' custom `attributes`. */
export interface DciCustomAttribute {
  key: string;
  type: 'number' | 'text' | 'date' | 'boolean';
  /**
   * Whose attribute it is, for those read from the registry's attribute definitions: a person's own, or their
   * household's. Configured ones (no `of`) are both: a person without the value has their household's.
   */
  of?: 'individual' | 'group';
}

export interface DciConfig {
  /** Our `sender_id` in the headers we emit. */
  senderId: string;
  /** Allowed difference between a message's message_ts and our clock. */
  clockSkewSeconds: number;
  /** Most records one search may return: larger page sizes, and unpaginated searches matching more, are refused. */
  maxRecords: number;
  /** Most search_request items in one message. */
  maxBatch: number;
  /** How large an expression or predicate query may be; larger ones are refused before any SQL runs. */
  queryLimits: { terms: number; depth: number; orWidth: number; inValues: number };
  /** Refuse queries no index can serve (they would scan every record); off only for small registries. */
  indexedQueriesOnly: boolean;
  /** Query attribute names (as partners use them) → custom attributes of individuals and groups. */
  attributes: Record<string, DciCustomAttribute>;
  /** Other names partners use for query attributes → the attribute they mean (on top of the built-in aliases). */
  aliases: Record<string, string>;
  /** Delivery of asynchronous answers and notifications to partners. */
  callbacks: { retries: number; retryDelaySeconds: number; timeoutMs: number };
  /** How often registry changes are turned into notifications. */
  notifyIntervalMs: number;
  /** dci_transactions older than `days` are deleted (0: kept forever) by a sweep every `intervalMs`. */
  retention: { days: number; intervalMs: number };
}

const DEFAULT_DCI_ATTRIBUTES: Record<string, DciCustomAttribute> = {
  poverty_score: { key: 'poverty_score', type: 'number' },
  pmt_score: { key: 'pmt_score', type: 'number' },
};

/** A variable holding a JSON object (undefined when unset or empty); `shape` describes it in the error. */
function jsonObject(env: Env, name: string, shape: string): Record<string, unknown> | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, 'not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(name, `expected an object ${shape}`);
  return parsed as Record<string, unknown>;
}

const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function dciAttributes(env: Env): Record<string, DciCustomAttribute> {
  const parsed = jsonObject(env, 'DCI_ATTRIBUTES', '{"name": {"key": "...", "type": "number|text|date|boolean"}}');
  if (parsed === undefined) return DEFAULT_DCI_ATTRIBUTES;
  for (const [name, def] of Object.entries(parsed)) {
    const { key, type } = (def ?? {}) as Record<string, unknown>;
    if (!ATTRIBUTE_NAME.test(name) || typeof key !== 'string' || !ATTRIBUTE_NAME.test(key)) {
      throw new ConfigError('DCI_ATTRIBUTES', `attribute "${name}" needs a name and a "key" of letters, digits and _`);
    }
    if (!['number', 'text', 'date', 'boolean'].includes(type as string)) {
      throw new ConfigError('DCI_ATTRIBUTES', `attribute "${name}": type must be number, text, date or boolean`);
    }
  }
  return Object.fromEntries(
    Object.entries(parsed as Record<string, DciCustomAttribute>).map(([name, { key, type }]) => [name, { key, type }]),
  );
}

/**
 * `DCI_TRANSACTION_RETENTION_DAYS` and `DCI_RETENTION_INTERVAL`. The rows are also the replay protection (one
 * message_id per sender): a message is refused as too old once its message_ts is more than DCI_CLOCK_SKEW away, so a
 * row may go only after twice that (a message_ts up to the skew ahead of its arrival, replayed up to the skew late).
 */
function dciRetention(env: Env): DciConfig['retention'] {
  const days = integer(env, 'DCI_TRANSACTION_RETENTION_DAYS', 90, 0, 36_500);
  const skewSeconds = integer(env, 'DCI_CLOCK_SKEW', 300, 1, 86_400);
  if (days > 0 && days * 86_400 <= 2 * skewSeconds) {
    throw new ConfigError('DCI_TRANSACTION_RETENTION_DAYS', `must be 0 or longer than twice DCI_CLOCK_SKEW (${skewSeconds} s), or replayed messages would be taken as new`);
  }
  return { days, intervalMs: integer(env, 'DCI_RETENTION_INTERVAL', 3600, 1, 86_400) * 1000 };
}


/** `DCI_ATTRIBUTE_ALIASES`: JSON `{"alias": "attribute"}`. */
function dciAliases(env: Env): Record<string, string> {
  const parsed = jsonObject(env, 'DCI_ATTRIBUTE_ALIASES', '{"alias": "attribute"}');
  if (parsed === undefined) return {};
  for (const [alias, target] of Object.entries(parsed)) {
    if (!ATTRIBUTE_NAME.test(alias) || typeof target !== 'string' || !ATTRIBUTE_NAME.test(target)) {
      throw new ConfigError('DCI_ATTRIBUTE_ALIASES', `alias "${alias}" must name an attribute; both are letters, digits and _`);
    }
    if (alias === target) throw new ConfigError('DCI_ATTRIBUTE_ALIASES', `alias "${alias}" names itself`);
  }
  return parsed as Record<string, string>;
}

const GATEWAY_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** `HUB_PAYMENT_GATEWAYS`: JSON `{"name": {"adapter": "sandbox" | "file" | "dci-disburse", …}}`; a sandbox and a file gateway by default. */
function paymentGateways(env: Env, dataDir: string): Record<string, PaymentGatewayConfig> {
  const name = 'HUB_PAYMENT_GATEWAYS';
  const parsed = jsonObject(env, name, '{"name": {"adapter": "sandbox" | "file" | "dci-disburse", ...}}') ?? {
    sandbox: { adapter: 'sandbox' },
    file: { adapter: 'file' },
  };
  const gateways: Record<string, PaymentGatewayConfig> = {};
  for (const [gateway, value] of Object.entries(parsed)) {
    const def = (value ?? {}) as Record<string, unknown>;
    const fail = (detail: string): never => {
      throw new ConfigError(name, `gateway "${gateway}": ${detail}`);
    };
    if (!GATEWAY_NAME.test(gateway)) fail('names are 1-64 letters, digits, ".", "_" or "-"');
    const batchSize = def.batch_size ?? (def.adapter === 'file' ? 100_000 : def.adapter === 'dci-disburse' ? 100 : 1000);
    if (!Number.isInteger(batchSize) || (batchSize as number) < 1 || (batchSize as number) > 1_000_000) fail('batch_size must be an integer 1..1000000');
    if (def.adapter === 'sandbox') {
      const failureRate = def.failure_rate ?? 0;
      const seed = def.seed ?? 1;
      const settle = def.settle ?? 'immediate';
      if (typeof failureRate !== 'number' || failureRate < 0 || failureRate > 1) fail('failure_rate must be a number 0..1');
      if (!Number.isInteger(seed)) fail('seed must be an integer');
      if (settle !== 'immediate' && settle !== 'deferred') fail('settle must be immediate or deferred');
      gateways[gateway] = { adapter: 'sandbox', failure_rate: failureRate as number, seed: seed as number, settle: settle as 'immediate', batch_size: batchSize as number };
    } else if (def.adapter === 'file') {
      const directory = def.directory ?? path.join(dataDir, 'payments', gateway);
      if (typeof directory !== 'string' || directory === '') fail('directory must be a path');
      gateways[gateway] = { adapter: 'file', directory: path.resolve(directory as string), batch_size: batchSize as number };
    } else if (def.adapter === 'dci-disburse') {
      gateways[gateway] = dciDisburse(def, batchSize as number, fail);
    } else {
      fail('adapter must be "sandbox", "file" or "dci-disburse"');
    }
  }
  return gateways;
}

const httpUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/.test(v);

function dciDisburse(def: Record<string, unknown>, batchSize: number, fail: (detail: string) => never): DciDisburseConfig {
  if (!httpUrl(def.base_url)) fail('base_url must be an http(s) URL');
  if (!httpUrl(def.jwks_url)) fail('jwks_url must be an http(s) URL: the gateway\'s callbacks are verified against its keys');
  const auth = def.auth as Record<string, unknown> | undefined;
  if (auth !== undefined) {
    if (!httpUrl(auth.token_url) || typeof auth.client_id !== 'string') fail('auth needs token_url and client_id');
    if (typeof auth.client_secret !== 'string' && typeof auth.private_key_jwk !== 'object') fail('auth needs client_secret or private_key_jwk');
  }
  if (typeof def.payer_fa !== 'string' || !FINANCIAL_ADDRESS.test(def.payer_fa)) fail('payer_fa must be a financial address id-type:id@provider');
  for (const key of ['payer_name', 'purpose', 'receiver_id']) {
    if (def[key] !== undefined && typeof def[key] !== 'string') fail(`${key} must be a string`);
  }
  const source = (def.payee_fa ?? {}) as Record<string, unknown>;
  const format = source.format ?? '{value}';
  if (typeof format !== 'string' || !format.includes('{value}')) fail('payee_fa.format must contain {value}');
  let payeeFa: PayeeAddressSource;
  if (typeof source.identifier_type === 'string' && /^[A-Z][A-Z0-9_]{0,31}$/.test(source.identifier_type)) {
    payeeFa = { identifier_type: source.identifier_type, format: format as string };
  } else if (typeof source.attribute === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(source.attribute)) {
    payeeFa = { attribute: source.attribute, format: format as string };
  } else {
    return fail('payee_fa needs identifier_type (an identifier type such as MOBILE_MONEY) or attribute (a custom attribute name)');
  }
  const retries = def.retries ?? 8;
  const retryDelay = def.retry_delay ?? 30;
  const timeoutMs = def.timeout_ms ?? 30_000;
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > 100) fail('retries must be an integer 0..100');
  if (!Number.isInteger(retryDelay) || (retryDelay as number) < 1 || (retryDelay as number) > 86_400) fail('retry_delay must be 1..86400 seconds');
  if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 100 || (timeoutMs as number) > 600_000) fail('timeout_ms must be 100..600000');
  return {
    adapter: 'dci-disburse',
    base_url: def.base_url as string,
    jwks_url: def.jwks_url as string,
    ...(auth ? { auth: auth as unknown as NonNullable<DciPeerConfig['auth']> } : {}),
    ...(def.receiver_id ? { receiver_id: def.receiver_id as string } : {}),
    payer_fa: def.payer_fa as string,
    ...(def.payer_name ? { payer_name: def.payer_name as string } : {}),
    ...(def.purpose ? { purpose: def.purpose as string } : {}),
    payee_fa: payeeFa,
    batch_size: batchSize,
    retries: retries as number,
    retry_delay: retryDelay as number,
    timeout_ms: timeoutMs as number,
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`);
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `expected a ${protocols.join(' or ')} URL, got "${parsed.protocol}"`);
  }
  return raw;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `expected one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** `NIN=https://id.example.gov/nin,UIN=urn:oid:…`: identifier type → absolute URI. */
function identifierSystems(env: Env, name: string): Record<string, string> {
  const raw = env[name];
  const systems: Record<string, string> = {};
  if (raw === undefined || raw.trim() === '') return systems;
  for (const pair of raw.split(',')) {
    const match = /^\s*([A-Z][A-Z0-9_]{0,31})\s*=\s*(\S+)\s*$/.exec(pair);
    if (!match || !/^(https?:\/\/[^\s|]+|urn:[a-z0-9][a-z0-9-]{0,31}:[^\s|]+)$/i.test(match[2]!)) {
      throw new ConfigError(name, `expected TYPE=URI pairs separated by commas, got "${pair.trim()}"`);
    }
    systems[match[1]!] = match[2]!;
  }
  return systems;
}

function registries(env: Env): ExternalRegistryConfig[] {
  try {
    return parseRegistries(env.HUB_REGISTRIES);
  } catch (err) {
    if (err instanceof RegistriesConfigError) throw new ConfigError('HUB_REGISTRIES', err.message);
    throw new ConfigError('HUB_REGISTRIES', `cannot read the file: ${(err as Error).message}`);
  }
}

const APPROVAL_KINDS = ['enrolment', 'status_change', 'death_suspension'] as const;

/** `HUB_APPROVALS`: JSON `{"enrolment": 1, "status_change": 1, "death_suspension": 0}`, levels 0..5; none by default. */
function defaultApprovals(env: Env): Partial<Approvals> {
  const name = 'HUB_APPROVALS';
  const parsed = jsonObject(env, name, `{"${APPROVAL_KINDS.join('": levels, "')}": levels}`);
  if (parsed === undefined) return {};
  const approvals: Partial<Approvals> = {};
  for (const [kind, levels] of Object.entries(parsed)) {
    if (!(APPROVAL_KINDS as readonly string[]).includes(kind)) throw new ConfigError(name, `unknown kind "${kind}" (${APPROVAL_KINDS.join(', ')})`);
    if (!Number.isInteger(levels) || (levels as number) < 0 || (levels as number) > 5) throw new ConfigError(name, `"${kind}" must be an integer 0..5`);
    approvals[kind as keyof Approvals] = levels as number;
  }
  return approvals;
}

/** `HUB_TRUST_PROXY`: `10.0.0.5,10.1.0.0/16`. Never "trust everything": X-Forwarded-For is whatever the caller writes. */
function trustProxy(env: Env): string | undefined {
  const raw = env.HUB_TRUST_PROXY?.trim();
  if (!raw) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address, prefix, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
      throw new ConfigError('HUB_TRUST_PROXY', `expected IP addresses or CIDR ranges separated by commas, got "${entry}"`);
    }
  }
  return entries.join(',');
}

function rateLimit(env: Env): RateLimitConfig {
  return {
    perClient: integer(env, 'HUB_RATE_LIMIT', 300, 0, 10_000_000),
    perAddress: integer(env, 'HUB_RATE_LIMIT_ADDRESS', 600, 0, 10_000_000),
    windowSeconds: integer(env, 'HUB_RATE_LIMIT_WINDOW', 10, 1, 3600),
  };
}

function authLockout(env: Env): AuthLockoutConfig {
  const lockSeconds = integer(env, 'HUB_AUTH_LOCKOUT', 60, 1, 86_400);
  return {
    perClient: integer(env, 'HUB_AUTH_FAILURES', 10, 0, 1_000_000),
    perAddress: integer(env, 'HUB_AUTH_FAILURES_ADDRESS', 50, 0, 1_000_000),
    windowSeconds: integer(env, 'HUB_AUTH_FAILURE_WINDOW', 900, 1, 86_400),
    lockSeconds,
    maxLockSeconds: integer(env, 'HUB_AUTH_LOCKOUT_MAX', Math.max(3600, lockSeconds), lockSeconds, 7 * 86_400),
  };
}

/** `HUB_OUTBOUND_ALLOW_HTTP` and `HUB_OUTBOUND_ALLOW_HOSTS` (host names, addresses, CIDR ranges, comma-separated). */
function outboundSettings(env: Env): OutboundSettings {
  const allowHosts = (env.HUB_OUTBOUND_ALLOW_HOSTS ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
  for (const entry of allowHosts) {
    const problem = allowHostProblem(entry);
    if (problem) throw new ConfigError('HUB_OUTBOUND_ALLOW_HOSTS', problem);
  }
  return { allowHttp: oneOf(env, 'HUB_OUTBOUND_ALLOW_HTTP', ['true', 'false'] as const, 'false') === 'true', allowHosts };
}

/** Every configured URL the hub calls, checked against the outbound policy (again at each connection). */
function checkOutboundUrls(settings: OutboundSettings, registries: ExternalRegistryConfig[], gateways: Record<string, PaymentGatewayConfig>) {
  const policy = new OutboundPolicy(settings);
  const check = (variable: string, where: string, peer: Pick<DciPeerConfig, 'base_url' | 'jwks_url' | 'auth'>) => {
    for (const [key, value] of [['base_url', peer.base_url], ['jwks_url', peer.jwks_url], ['auth.token_url', peer.auth?.token_url]] as const) {
      if (value === undefined) continue;
      try {
        policy.parse(value);
      } catch (err) {
        if (err instanceof OutboundUrlError) throw new ConfigError(variable, `${where}: ${key} ${err.message}`);
        throw err;
      }
    }
  };
  for (const registry of registries) check('HUB_REGISTRIES', `registry "${registry.name}"`, registry);
  for (const [name, gateway] of Object.entries(gateways)) if (gateway.adapter === 'dci-disburse') check('HUB_PAYMENT_GATEWAYS', `gateway "${name}"`, gateway);
}

export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST || '127.0.0.1';
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const publicUrl = (url(env, 'HUB_PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`).replace(/\/$/, '');
  const hubSecret = env.HUB_SECRET || undefined;
  if (hubSecret !== undefined && hubSecret.length < 16) {
    throw new ConfigError('HUB_SECRET', 'must be at least 16 characters');
  }
  const dataDir = path.resolve(env.HUB_DATA_DIR || './data');
  const outbound = outboundSettings(env);
  const gateways = paymentGateways(env, dataDir);
  const externalRegistries = registries(env);
  checkOutboundUrls(outbound, externalRegistries, gateways);
  return {
    host,
    port,
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    publicUrl,
    tokenAudience: env.HUB_TOKEN_AUDIENCE || publicUrl,
    tokenTtlSeconds: integer(env, 'HUB_TOKEN_TTL', 900, 30, 86400),
    hubSecret,
    keyAlgorithm: oneOf(env, 'HUB_KEY_ALG', ['ES256', 'RS256', 'EdDSA'] as const, 'ES256'),
    bodyLimitBytes: integer(env, 'HUB_BODY_LIMIT', 1_048_576, 1024, 1_073_741_824),
    importMaxBytes: integer(env, 'HUB_IMPORT_MAX_BYTES', 2_147_483_648, 1024, Number.MAX_SAFE_INTEGER),
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    shutdownGraceMs: integer(env, 'HUB_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    statementTimeoutMs: {
      dci: integer(env, 'HUB_DCI_STATEMENT_TIMEOUT_MS', 5000, 0, 3_600_000),
      fhir: integer(env, 'HUB_FHIR_STATEMENT_TIMEOUT_MS', 5000, 0, 3_600_000),
      api: integer(env, 'HUB_API_STATEMENT_TIMEOUT_MS', 30_000, 0, 3_600_000),
    },
    dci: {
      senderId: env.DCI_SENDER_ID || 'convergence-hub',
      clockSkewSeconds: integer(env, 'DCI_CLOCK_SKEW', 300, 1, 86_400),
      maxRecords: integer(env, 'DCI_MAX_RECORDS', 1000, 1, 100_000),
      maxBatch: integer(env, 'DCI_MAX_BATCH', 50, 1, 1000),
      queryLimits: {
        terms: integer(env, 'DCI_QUERY_MAX_TERMS', 50, 1, 1000),
        depth: integer(env, 'DCI_QUERY_MAX_DEPTH', 6, 1, 16),
        orWidth: integer(env, 'DCI_QUERY_MAX_OR', 50, 1, 1000),
        inValues: integer(env, 'DCI_QUERY_MAX_IN', 1000, 1, 10_000),
      },
      indexedQueriesOnly: oneOf(env, 'DCI_INDEXED_QUERIES_ONLY', ['true', 'false'] as const, 'true') === 'true',
      attributes: dciAttributes(env),
      aliases: dciAliases(env),
      callbacks: {
        // Retry n waits 10 s × 2^(n−1) × (1 to 2, jitter): 9 retries keep trying for 85 min at the least (8 gave
        // 42.5 min), so a partner down for an hour still gets its callback; pg-boss 10 cannot cap the backoff instead.
        retries: integer(env, 'DCI_CALLBACK_RETRIES', 9, 0, 100),
        retryDelaySeconds: integer(env, 'DCI_CALLBACK_RETRY_DELAY', 10, 1, 86_400),
        timeoutMs: integer(env, 'DCI_CALLBACK_TIMEOUT', 10_000, 100, 600_000),
      },
      notifyIntervalMs: integer(env, 'DCI_NOTIFY_INTERVAL', 1000, 100, 3_600_000),
      retention: dciRetention(env),
    },
    fhirIdentifierSystems: identifierSystems(env, 'HUB_FHIR_IDENTIFIER_SYSTEMS'),
    paymentGateways: gateways,
    registries: externalRegistries,
    defaultApprovals: defaultApprovals(env),
    trustProxy: trustProxy(env),
    rateLimit: rateLimit(env),
    authLockout: authLockout(env),
    outbound,
  };
}
