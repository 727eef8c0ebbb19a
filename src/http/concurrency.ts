import type { FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';

/** A strong ETag carrying the record version: `"3"`. */
export const etagOf = (version: number) => `"${version}"`;

export function withEtag<T extends { version: number }>(reply: FastifyReply, record: T): T {
  reply.header('etag', etagOf(record.version));
  return record;
}

/**
 * The version the caller last read, from `If-Match` or the body's `version`. Updates need one of them
 * (428 otherwise) so that no write silently overwrites a change the caller has not seen.
 */
export function expectedVersion(request: FastifyRequest, bodyVersion: number | undefined, required: boolean): number | undefined {
  const header = request.headers['if-match'];
  if (header !== undefined) {
    const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
    if (!match) {
      throw new HubError('invalid', 'If-Match must be one ETag as returned by this API, e.g. "3"', [
        { parameter: 'If-Match', detail: 'expected a single ETag' },
      ]);
    }
    const version = Number(match[1]);
    if (bodyVersion !== undefined && bodyVersion !== version) {
      throw new HubError('invalid', 'If-Match and body version disagree', [{ pointer: '/version', detail: 'differs from If-Match' }]);
    }
    return version;
  }
  if (bodyVersion === undefined && required) {
    throw new HubError('precondition_required', 'send If-Match with the ETag you last read (or "version" in the body)');
  }
  return bodyVersion;
}
