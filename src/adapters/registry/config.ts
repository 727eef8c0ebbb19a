import fs from 'node:fs';
import type { DciPeerConfig } from '../../dci/client.js';

/**
 * An external registry the hub talks to, as configured (HUB_REGISTRIES). `name` is recorded as the source of the
 * events it sends; `base_url` is, for DCI, the base its /registry/… paths hang under, for FHIR the server base.
 */
export interface ExternalRegistryConfig extends DciPeerConfig {
  kind: 'dci-crvs' | 'dci-sr' | 'fhir';
  /** As OpenCRVS does: its keys are published at `{sender_id}/.well-known/jwks.json` under base_url's origin. */
  jwks_from_sender_id?: boolean;
  /** Their identifier types → ours (e.g. {"NID": "NIN"}): the field mapping applied to what they send. */
  identifier_types?: Record<string, string>;
}

export class RegistriesConfigError extends Error {}

const KINDS = ['dci-crvs', 'dci-sr', 'fhir'];
const isUrl = (v: unknown) => typeof v === 'string' && /^https?:\/\/\S+$/.test(v);

function check(entry: Record<string, unknown>, index: number): ExternalRegistryConfig {
  const where = `registry ${index} (${String(entry.name ?? '?')})`;
  if (typeof entry.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(entry.name)) throw new RegistriesConfigError(`${where}: name must be lower-case letters, digits and -`);
  if (!KINDS.includes(entry.kind as string)) throw new RegistriesConfigError(`${where}: kind must be one of ${KINDS.join(', ')}`);
  if (!isUrl(entry.base_url)) throw new RegistriesConfigError(`${where}: base_url must be an http(s) URL`);
  if (entry.jwks_url !== undefined && !isUrl(entry.jwks_url)) throw new RegistriesConfigError(`${where}: jwks_url must be an http(s) URL`);
  const auth = entry.auth as Record<string, unknown> | undefined;
  if (auth !== undefined) {
    if (!isUrl(auth.token_url) || typeof auth.client_id !== 'string') throw new RegistriesConfigError(`${where}: auth needs token_url and client_id`);
    if (typeof auth.client_secret !== 'string' && typeof auth.private_key_jwk !== 'object') {
      throw new RegistriesConfigError(`${where}: auth needs client_secret or private_key_jwk`);
    }
  }
  if (String(entry.kind).startsWith('dci-') && !entry.jwks_url && !entry.jwks_from_sender_id) {
    throw new RegistriesConfigError(`${where}: a DCI registry needs jwks_url or jwks_from_sender_id, to verify what it sends`);
  }
  return entry as unknown as ExternalRegistryConfig;
}

/** HUB_REGISTRIES: a JSON list, inline or `@path/to/file.json`. */
export function parseRegistries(raw: string | undefined): ExternalRegistryConfig[] {
  if (raw === undefined || raw.trim() === '') return [];
  const text = raw.trim().startsWith('@') ? fs.readFileSync(raw.trim().slice(1), 'utf8') : raw;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RegistriesConfigError('not valid JSON');
  }
  if (!Array.isArray(parsed)) throw new RegistriesConfigError('expected a list of registries');
  const list = parsed.map((e, i) => check((e ?? {}) as Record<string, unknown>, i));
  const names = new Set(list.map((r) => r.name));
  if (names.size !== list.length) throw new RegistriesConfigError('registry names must be unique');
  return list;
}
