import type { ContactPoint, Organization as FhirOrganization } from '@medplum/fhirtypes';
import type { Organization } from '../../programmes/schemas.js';
import { CODE_SYSTEM, PROFILE } from '../canonical.js';
import { metaOf } from './meta.js';

const HL7_ORGANIZATION_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';

/**
 * An organisation as a FHIR R4 Organization (profile hub-organization): its kind in the hub's organization-type
 * codes (and HL7's `govt` for a government body), its identifiers as registered, its contact person or desk.
 */
export function toOrganization(org: Organization): FhirOrganization {
  const telecom: ContactPoint[] = [
    ...(org.contact.phone ? [{ system: 'phone' as const, value: org.contact.phone, use: 'work' as const }] : []),
    ...(org.contact.email ? [{ system: 'email' as const, value: org.contact.email, use: 'work' as const }] : []),
  ];
  const hasContact = org.contact.name !== undefined || telecom.length > 0;
  return {
    resourceType: 'Organization',
    id: org.id,
    meta: metaOf(org, PROFILE.Organization),
    ...(org.identifiers.length > 0 ? { identifier: org.identifiers.map((i) => ({ system: i.system, value: i.value })) } : {}),
    active: org.active,
    type: [
      {
        coding: [
          { system: CODE_SYSTEM.organizationType, code: org.type },
          ...(org.type === 'government' ? [{ system: HL7_ORGANIZATION_TYPE, code: 'govt', display: 'Government' }] : []),
        ],
      },
    ],
    name: org.name,
    ...(hasContact
      ? { contact: [{ ...(org.contact.name ? { name: { text: org.contact.name } } : {}), ...(telecom.length > 0 ? { telecom } : {}) }] }
      : {}),
  };
}
