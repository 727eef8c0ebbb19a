import type { FastifyReply, FastifyRequest } from 'fastify';
import { notSupported } from './outcome.js';

export const FHIR_JSON = 'application/fhir+json';

/** `_format` values meaning JSON (R4 §2.21.0.6 allows the short form and the full MIME types). */
const JSON_FORMATS = new Set(['json', 'application/json', FHIR_JSON, 'application/json+fhir']);
const JSON_ACCEPTED = /(^|[\s,])(\*\/\*|application\/\*|application\/json|application\/fhir\+json|application\/json\+fhir)(\s*[;,]|\s*$)/i;

/**
 * The hub speaks FHIR JSON only: `_format` (which overrides Accept) or an Accept header naming only other formats
 * (XML, Turtle) gets 406.
 */
export function assertJsonWanted(request: FastifyRequest, query: URLSearchParams) {
  const format = query.get('_format');
  if (format !== null) {
    if (!JSON_FORMATS.has(format.split(';')[0]!.trim())) {
      throw notSupported(406, `_format ${format} is not supported: this server answers application/fhir+json`, ['_format']);
    }
    return;
  }
  const accept = request.headers.accept;
  if (accept && !JSON_ACCEPTED.test(accept)) {
    throw notSupported(406, `cannot answer in ${accept}: this server answers application/fhir+json`);
  }
}

const JSON_BODY = /^application\/(fhir\+json|json\+fhir|json)\s*(;|$)/i;

/** Writes carry FHIR JSON (application/json accepted too); any other body is a 415. */
export function assertJsonBody(request: FastifyRequest) {
  const type = request.headers['content-type'];
  if (!type || !JSON_BODY.test(type)) throw notSupported(415, `send the resource as ${FHIR_JSON}, not ${type ?? 'no content type'}`);
}

/** Sends a resource as FHIR JSON; `_pretty=true` indents it. */
export function sendResource(reply: FastifyReply, query: URLSearchParams, status: number, body: object) {
  const pretty = query.get('_pretty') === 'true';
  return reply
    .code(status)
    .type(`${FHIR_JSON}; charset=utf-8`)
    .serializer((payload: unknown) => JSON.stringify(payload, null, pretty ? 2 : undefined))
    .send(body);
}

/** `Prefer: handling=strict` makes unknown search parameters an error (R4 §3.1.1.4); lenient is the default. */
export const wantsStrict = (prefer: string | string[] | undefined) =>
  /(^|[\s,;])handling\s*=\s*"?strict"?/i.test([prefer ?? ''].flat().join(','));
