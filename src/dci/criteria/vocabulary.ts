import type { DciConfig, DciCustomAttribute } from '../../config.js';
import type { Db } from '../../db/client.js';
import { attributeTypes } from '../../programmes/attributes.js';

/**
 * The configuration with the registry's custom attribute definitions (`POST /api/v1/attribute-definitions`) added to its query
 * attributes; a configured name (`DCI_ATTRIBUTES`) wins over a defined one. Read at each use — the table is small —
 * so an attribute defined through any hub instance is queryable at once.
 */
export async function withRegistryAttributes(db: Db, config: DciConfig): Promise<DciConfig> {
  const defined = await attributeTypes(db);
  const attributes: Record<string, DciCustomAttribute> = {};
  for (const of of ['individual', 'group'] as const) {
    for (const [name, type] of Object.entries(defined[of])) {
      // Defined for people and households alike: a person's own value, else their household's, as configured ones.
      attributes[name] = attributes[name] ? { key: name, type: attributes[name].type } : { key: name, type, of };
    }
  }
  return { ...config, attributes: { ...attributes, ...config.attributes } };
}
