import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { PROFILE } from './canonical.js';
import { FHIR_JSON } from './media.js';
import type { ResourceType } from './resources.js';

export interface MetadataOptions {
  base: string;
  tokenUrl: string;
  softwareVersion: string;
  /** When the server started: the statement's date (it changes only with the code). */
  startedAt: string;
}

function resourceEntry(resource: ResourceType): CapabilityStatementRestResource {
  const sortable = resource.parameters.filter((p) => p.sort).map((p) => p.code);
  return {
    type: resource.type,
    documentation:
      `_sort by one of ${sortable.join(', ')} (prefix - for descending; then by id; paging stays keyset). ` +
      '_count (at most 500), _summary=count, _cursor (from next links only).',
    profile: PROFILE[resource.type as keyof typeof PROFILE],
    interaction: resource.interactions.map((code) => ({ code })),
    versioning: 'versioned',
    readHistory: resource.interactions.includes('vread'),
    updateCreate: false,
    ...(resource.interactions.includes('create') ? { conditionalCreate: true } : {}),
    ...(resource.interactions.includes('update') ? { conditionalUpdate: false } : {}),
    conditionalRead: 'not-supported',
    conditionalDelete: 'not-supported',
    ...(resource.includes.length > 0 ? { searchInclude: [...resource.includes] } : {}),
    ...(resource.revIncludes.length > 0 ? { searchRevInclude: [...resource.revIncludes] } : {}),
    searchParam: resource.parameters.map((p) => ({
      name: p.code,
      definition: p.definition,
      type: p.type,
      documentation: p.documentation,
    })),
  };
}

/**
 * The CapabilityStatement is built from the same resource definitions the routes serve, so it states exactly
 * the interactions and search parameters that are implemented.
 */
export function capabilityStatement(resources: ResourceType[], options: MetadataOptions): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: options.startedAt,
    publisher: 'Convergence Hub',
    kind: 'instance',
    software: { name: 'Convergence Hub', version: options.softwareVersion },
    implementation: { description: 'Convergence Hub social registry: FHIR R4 facade', url: options.base },
    fhirVersion: '4.0.1',
    format: [FHIR_JSON, 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Registry individuals as Patient, households as Group (household attributes as characteristics), ' +
          "members' relations to the head as RelatedPerson, administrative areas as Location, programme operators, " +
          'payment providers and government bodies as Organization, programme enrolment (beneficiaries) as ' +
          'EpisodeOfCare. Search paging is keyset-based (follow the next link). Unknown search parameters and ' +
          'unsupported _sort values are ignored (and reported in an OperationOutcome entry) unless ' +
          'Prefer: handling=strict, which refuses them with 400.',
        security: {
          cors: false,
          service: [
            {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth', display: 'OAuth' }],
            },
          ],
          extension: [
            {
              url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
              extension: [{ url: 'token', valueUri: options.tokenUrl }],
            },
          ],
          description:
            `Bearer JWT from the OAuth 2 client-credentials token endpoint ${options.tokenUrl} (client_secret_post, ` +
            'client_secret_basic or private_key_jwt). Scope fhir:read for read, vread, history and search; fhir:write ' +
            'for create and update. A client with a geographic scope sees only records located in its area.',
        },
        resource: resources.map(resourceEntry),
      },
    ],
  };
}
