import type { Address } from '@medplum/fhirtypes';
import type { AreaName } from '../../registry/location-ancestry.js';

/**
 * A location in the admin-area tree as a FHIR Address: the top three levels fill state, district and city (the
 * way province → commune → colline reads in most countries' addresses), deeper levels become lines, and `text`
 * names the whole chain from the smallest area up.
 */
export function addressOf(areas: AreaName[]): Address | undefined {
  if (areas.length === 0) return undefined;
  const at = (level: number) => areas.find((a) => a.level === level)?.name;
  const lines = areas.filter((a) => a.level > 3).reverse().map((a) => a.name);
  const state = at(1);
  const district = at(2);
  const city = at(3);
  return {
    use: 'home',
    type: 'physical',
    text: [...areas].reverse().map((a) => a.name).join(', '),
    ...(lines.length > 0 ? { line: lines } : {}),
    ...(city ? { city } : {}),
    ...(district ? { district } : {}),
    ...(state ? { state } : {}),
  };
}
