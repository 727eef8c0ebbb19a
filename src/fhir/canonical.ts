/**
 * Canonical URLs of the conformance resources the hub defines (schemas/fhir/). They identify; they are not meant
 * to be dereferenced. Every URL here has a JSON definition in schemas/fhir/ (a test checks it).
 */
export const CANONICAL_BASE = 'https://convergence-hub.org/fhir';

export const PROFILE = {
  Patient: `${CANONICAL_BASE}/StructureDefinition/hub-patient`,
  Group: `${CANONICAL_BASE}/StructureDefinition/hub-household`,
  Location: `${CANONICAL_BASE}/StructureDefinition/hub-admin-area`,
  RelatedPerson: `${CANONICAL_BASE}/StructureDefinition/hub-household-relation`,
} as const;

export const EXTENSION = {
  householdRole: `${CANONICAL_BASE}/StructureDefinition/household-role`,
  groupLocation: `${CANONICAL_BASE}/StructureDefinition/group-location`,
} as const;

export const CODE_SYSTEM = {
  householdRole: `${CANONICAL_BASE}/CodeSystem/household-role`,
  groupKind: `${CANONICAL_BASE}/CodeSystem/group-kind`,
  identifierType: `${CANONICAL_BASE}/CodeSystem/identifier-type`,
} as const;

/** Identifier systems of the hub's own codes (households, admin areas) and the default for person identifiers. */
export const IDENTIFIER_SYSTEM = {
  householdCode: `${CANONICAL_BASE}/sid/household-code`,
  locationCode: `${CANONICAL_BASE}/sid/location-code`,
  personIdentifier: (type: string) => `${CANONICAL_BASE}/sid/${type.toLowerCase().replaceAll('_', '-')}`,
} as const;

export const ADMINISTRATIVE_GENDER = 'http://hl7.org/fhir/administrative-gender';
