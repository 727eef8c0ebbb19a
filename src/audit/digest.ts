import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** SHA-256 (hex) of the RFC 8785 canonical JSON of a value: equal data, equal digest, whatever the key order. */
export function digest(value: unknown): string {
  return createHash('sha256').update(canonicalize(value) ?? 'null').digest('hex');
}
