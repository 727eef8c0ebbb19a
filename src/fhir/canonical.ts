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
  Organization: `${CANONICAL_BASE}/StructureDefinition/hub-organization`,
  EpisodeOfCare: `${CANONICAL_BASE}/StructureDefinition/hub-programme-enrolment`,
} as const;

export const EXTENSION = {
  householdRole: `${CANONICAL_BASE}/StructureDefinition/household-role`,
  groupLocation: `${CANONICAL_BASE}/StructureDefinition/group-location`,
  enrolledGroup: `${CANONICAL_BASE}/StructureDefinition/enrolled-group`,
} as const;

export const CODE_SYSTEM = {
  householdRole: `${CANONICAL_BASE}/CodeSystem/household-role`,
  groupKind: `${CANONICAL_BASE}/CodeSystem/group-kind`,
  identifierType: `${CANONICAL_BASE}/CodeSystem/identifier-type`,
  organizationType: `${CANONICAL_BASE}/CodeSystem/organization-type`,
  programme: `${CANONICAL_BASE}/CodeSystem/programme`,
  groupAttribute: `${CANONICAL_BASE}/CodeSystem/group-attribute`,
} as const;

/** Search parameters the hub defines beyond R4's own. */
export const SEARCH_PARAMETER = {
  episodeOfCareBeneficiary: `${CANONICAL_BASE}/SearchParameter/EpisodeOfCare-beneficiary`,
} as const;

/** Identifier systems of the hub's own codes (households, admin areas) and the default for person identifiers. */
export const IDENTIFIER_SYSTEM = {
  householdCode: `${CANONICAL_BASE}/sid/household-code`,
  locationCode: `${CANONICAL_BASE}/sid/location-code`,
  personIdentifier: (type: string) => `${CANONICAL_BASE}/sid/${type.toLowerCase().replaceAll('_', '-')}`,
} as const;

export const ADMINISTRATIVE_GENDER = 'http://hl7.org/fhir/administrative-gender';

export const EPISODE_OF_CARE_STATUS = 'http://hl7.org/fhir/episode-of-care-status';
