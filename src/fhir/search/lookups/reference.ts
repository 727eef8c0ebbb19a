import { isUuid } from '../../../db/keyset.js';
import { badRequest } from '../../outcome.js';

/**
 * The id a reference search value points at: `Type/id`, a bare `id`, or an absolute URL ending in `Type/id`.
 * Null for an id that cannot exist here (not one of our uuids): such a search matches nothing.
 */
export function referencedId(value: string, targetType: string, parameter: string): string | null {
  const segments = value.split('/');
  const id = segments[segments.length - 1]!;
  const type = segments.length > 1 ? segments[segments.length - 2] : undefined;
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(id)) throw badRequest(`${parameter}: "${value}" is not a reference`, [parameter]);
  if (type !== undefined && type !== targetType) {
    throw badRequest(`${parameter} refers to ${targetType}, not ${type}`, [parameter]);
  }
  return isUuid(id) ? id.toLowerCase() : null;
}
