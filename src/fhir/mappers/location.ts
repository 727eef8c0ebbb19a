import type { Location as FhirLocation } from '@medplum/fhirtypes';
import type { Location } from '../../registry/schemas.js';
import { IDENTIFIER_SYSTEM, PROFILE } from '../canonical.js';
import { metaOf } from './meta.js';

/** An administrative area as a FHIR R4 Location (profile hub-admin-area): a kind of place, part of its parent. */
export function toLocation(area: Location): FhirLocation {
  return {
    resourceType: 'Location',
    id: area.id,
    meta: metaOf(area, PROFILE.Location),
    identifier: [{ use: 'official', system: IDENTIFIER_SYSTEM.locationCode, value: area.code }],
    status: 'active',
    name: area.name,
    mode: 'instance',
    ...(area.kind ? { type: [{ text: area.kind }] } : {}),
    physicalType: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'area', display: 'Area' }],
    },
    ...(area.parent_id ? { partOf: { reference: `Location/${area.parent_id}` } } : {}),
  };
}
