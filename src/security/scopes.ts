/**
 * Every scope the hub knows, `<area>:<read|write>` (and `payments:approve`, `workflow:approve`) plus `admin` (which
 * holds them all).
 */
export const SCOPES = {
  'registry:read': 'Read locations, individuals and groups (admin API).',
  'registry:write': 'Create, update and delete locations, individuals and groups (admin API).',
  'fhir:read': 'Read and search FHIR resources.',
  'fhir:write': 'Create and update FHIR Patient and Group resources.',
  'dci:search': 'Search the registry through the DCI APIs.',
  'dci:subscribe': 'Subscribe to registry events through the DCI APIs.',
  'dci:admin': 'See DCI exchanges and the delivery of their callbacks; send failed callbacks again.',
  'crvs:read': 'Read civil (vital) events and the review tasks they raise.',
  'crvs:write': 'Record civil (vital) events: births, deaths, marriages …',
  'registries:read': 'List the external registries the hub is connected to, with their health.',
  'registries:write': 'Subscribe to and pull from external registries.',
  'programmes:read': 'Read programmes, eligibility and beneficiaries.',
  'programmes:write': 'Manage programmes, eligibility and enrolment.',
  'payments:read': 'Read payment plans, cycles and payments.',
  'payments:write': 'Manage payment plans, generate and send cycles, record compliance, reconcile.',
  'payments:approve': 'Approve payment cycles for sending (four eyes: not the client that generated them).',
  'workflow:read': 'Read maker-checker tasks (changes waiting for approval, and decided ones).',
  'workflow:approve': 'Approve or reject maker-checker tasks (four eyes: not the client that made them, one client per level).',
  'grievances:read': 'Read grievances.',
  'grievances:write': 'Create and handle grievances.',
  'audit:read': 'Read and verify the audit log.',
  admin: 'Everything, including clients, signing keys and the audit log.',
} as const;

export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];
