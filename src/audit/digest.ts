import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { toWellFormed } from '../text.js';

/**
 * The value with every lone surrogate (in strings and property names) replaced by U+FFFD, as the database stores
 * such text. Only used when canonicalisation refuses the value, so well-formed data keeps its digest.
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return toWellFormed(value);
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [toWellFormed(k), wellFormed(v)]));
}

function canonical(value: unknown): string {
  try {
    return canonicalize(value) ?? 'null';
  } catch (err) {
    // RFC 8785 has no form for a lone surrogate. The edge refuses such text (http/input-guard.ts); should one get
    // this far anyway, an audited change must not fail for it.
    if (!/lone surrogate/i.test((err as Error).message)) throw err;
    return canonicalize(wellFormed(value)) ?? 'null';
  }
}

/** SHA-256 (hex) of the RFC 8785 canonical JSON of a value: equal data, equal digest, whatever the key order. */
export function digest(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex');
}
