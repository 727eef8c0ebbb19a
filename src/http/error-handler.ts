import type { FastifyError, FastifyInstance } from 'fastify';
import { databaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { HubError, type FieldIssue } from '../errors.js';
import { problem, problemOf, sendProblem, statusSlug, type Problem } from './problem.js';

interface PgError {
  code?: string;
  constraint?: string;
  constraint_name?: string;
  detail?: string;
}

/** Unique and foreign-key constraints, in words an integrator can act on. */
const CONSTRAINTS: Record<string, { message: string; pointer?: string }> = {
  identifiers_type_value_key: { message: 'an individual with this identifier type and value already exists', pointer: '/identifiers' },
  groups_code_unique: { message: 'a group with this code already exists', pointer: '/code' },
  locations_code_unique: { message: 'a location with this code already exists', pointer: '/code' },
  clients_client_id_unique: { message: 'a client with this client_id already exists', pointer: '/client_id' },
  clients_dci_sender_id_unique: { message: 'another client already uses this DCI sender_id', pointer: '/dci/sender_id' },
  group_members_one_head_key: { message: 'the group already has a head', pointer: '/role' },
  group_members_current_key: { message: 'the individual is already a member of this group', pointer: '/individual_id' },
  individuals_location_id_locations_id_fk: { message: 'location_id does not name a location', pointer: '/location_id' },
  groups_location_id_locations_id_fk: { message: 'location_id does not name a location', pointer: '/location_id' },
  clients_location_id_locations_id_fk: { message: 'location_id does not name a location', pointer: '/location_id' },
};

/** Drizzle wraps driver errors (`cause`); both postgres.js and PGlite carry the SQLSTATE in `code`. */
function pgErrorOf(err: unknown): PgError | undefined {
  for (let e = err as { cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    const code = (e as PgError).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return e as PgError;
  }
  return undefined;
}

function fromDatabase(pg: PgError): Problem | undefined {
  const name = pg.constraint_name ?? pg.constraint ?? '';
  const known = CONSTRAINTS[name];
  const issues: FieldIssue[] = known?.pointer ? [{ pointer: known.pointer, detail: pg.detail ?? known.message }] : [];
  switch (pg.code) {
    case '23505':
      return problem(409, 'conflict', known?.message ?? 'a record with the same unique key already exists', issues);
    case '23503':
      return problem(422, 'unprocessable', known?.message ?? 'a referenced record does not exist', issues);
    case '22P02':
    case '22007':
    case '22008':
      return problem(400, 'invalid', 'a value has the wrong format');
    case '22003':
      return problem(400, 'invalid', 'a number is out of range');
    case '40001':
    case '40P01':
      return problem(409, 'conflict', 'the record was changed concurrently; retry the request');
    case '57014':
      // query_canceled: the surface's statement timeout fired (or the client went away, and nobody reads this).
      return problem(503, 'timeout', 'the request took longer than this service allows; narrow it or retry later');
    default:
      return undefined;
  }
}

/** A database constraint or format error as a problem, for surfaces with their own error format (FHIR). */
export function databaseProblem(err: unknown): Problem | undefined {
  const pg = pgErrorOf(err);
  return pg && fromDatabase(pg);
}

/** One JSON Pointer reference token (RFC 6901): `~` and `/` inside a property name must be escaped. */
const pointerToken = (name: string) => name.replaceAll('~', '~0').replaceAll('/', '~1');

/** Ajv errors → RFC 9457 `errors`, with a JSON Pointer into the body or the parameter's name. */
function validationIssues(err: FastifyError): FieldIssue[] {
  const where = err.validationContext;
  return (err.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const extra = typeof params.missingProperty === 'string' ? `/${pointerToken(params.missingProperty)}`
      : typeof params.additionalProperty === 'string' ? `/${pointerToken(params.additionalProperty)}` : '';
    const path = `${v.instancePath}${extra}`;
    const detail = typeof params.additionalProperty === 'string' ? 'unknown property' : (v.message ?? 'invalid');
    if (where === 'body') return { pointer: path || '/', detail };
    return { parameter: path.replace(/^\//, '').split('/')[0] || where || 'request', detail };
  });
}

export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof HubError) return sendProblem(request, reply, problemOf(err), err);
    if (err.validation) {
      return sendProblem(request, reply, problem(400, 'validation', 'the request is not valid', validationIssues(err)));
    }
    const unavailable = databaseUnavailable(err);
    if (unavailable) {
      // The code only: the error itself carries the failed statement's parameters.
      request.log.warn({ code: unavailable }, 'database unavailable');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendProblem(request, reply, problem(503, 'unavailable', 'the database is unavailable; retry later'));
    }
    const pg = pgErrorOf(err);
    const fromDb = pg && fromDatabase(pg);
    if (fromDb?.status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    if (fromDb) return sendProblem(request, reply, fromDb);
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(request, reply, problem(status, statusSlug(status), err.message));
    }
    request.log.error({ err }, 'request failed');
    return sendProblem(request, reply, problem(500, 'internal', 'an unexpected error occurred; it has been logged'));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, problem(404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}
