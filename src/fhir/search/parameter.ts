import type { SQL } from 'drizzle-orm';
import type { SortKey } from '../../db/sorted-keyset.js';

export type SearchParamType = 'token' | 'string' | 'date' | 'reference' | 'composite';

/**
 * One search parameter a resource supports: its R4 definition (for the CapabilityStatement) and how one value
 * becomes an SQL condition. Comma-separated values are OR-ed and repeated parameters AND-ed by the caller.
 */
export interface SearchParameter {
  code: string;
  type: SearchParamType;
  /** Canonical URL of the R4 SearchParameter this one implements (or of the hub's own definition). */
  definition: string;
  documentation: string;
  /** Modifiers accepted besides none; any other is refused with 400. */
  modifiers?: readonly string[];
  /** `_sort` by this parameter: the key (`id` for the logical id), when sorting by it is cheap. */
  sort?: SortKey | 'id';
  toSql(value: string, modifier: string | undefined): SQL;
}

export const r4Definition = (resource: string, code: string) =>
  `http://hl7.org/fhir/SearchParameter/${resource}-${code.replace(/^_/, '')}`;
