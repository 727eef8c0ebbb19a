import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { FastifyError } from 'fastify';
import { databaseUnavailable, RETRY_AFTER_SECONDS } from '../db/unavailable.js';
import { AuthError, HubError, type ErrorKind } from '../errors.js';
import { databaseProblem } from '../http/error-handler.js';
import { BadInputError } from '../http/input-guard.js';

type IssueType = OperationOutcomeIssue['code'];

/** An error raised by the FHIR surface itself (bad search parameter, unsupported format …). */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly code: IssueType,
    message: string,
    readonly expression?: string[],
    /** All issues, when there are several (validation); the first one otherwise is built from the fields above. */
    readonly issues?: OperationOutcomeIssue[],
  ) {
    super(message);
  }
}

/** A resource that breaks the R4 rules or a rule of the registry mapping: 422 naming the FHIRPath of the element. */
export const invalidResource = (message: string, expression: string) => new FhirError(422, 'processing', message, [expression]);

export const badRequest = (message: string, expression?: string[]) => new FhirError(400, 'invalid', message, expression);
export const notSupported = (status: number, message: string, expression?: string[]) =>
  new FhirError(status, 'not-supported', message, expression);

export function outcome(code: IssueType, diagnostics: string, severity: OperationOutcomeIssue['severity'] = 'error', expression?: string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, diagnostics, ...(expression && expression.length > 0 ? { expression } : {}) }],
  };
}

/** Domain error kinds → HTTP status and the OperationOutcome issue type (R4 IssueType value set). */
const BY_KIND: Record<ErrorKind, [number, IssueType]> = {
  invalid: [400, 'invalid'],
  unauthorized: [401, 'login'],
  forbidden: [403, 'forbidden'],
  not_found: [404, 'not-found'],
  gone: [410, 'deleted'],
  conflict: [409, 'conflict'],
  precondition_failed: [412, 'conflict'],
  unprocessable: [422, 'processing'],
  precondition_required: [428, 'required'],
  too_large: [413, 'too-long'],
};

const BY_STATUS: Record<number, IssueType> = {
  400: 'invalid',
  404: 'not-found',
  405: 'not-supported',
  406: 'not-supported',
  409: 'duplicate',
  413: 'too-long',
  415: 'not-supported',
  422: 'processing',
  429: 'throttled',
  503: 'timeout',
};

/** Steps into a resource (`name`, 0, `given`) as FHIRPath: Patient.name[0].given. */
export const fhirPath = (resourceType: string, steps: (string | number)[]) =>
  steps.reduce<string>((path, step) => (typeof step === 'number' ? `${path}[${step}]` : `${path}.${step}`), resourceType);

/** The refused element as FHIRPath, or the search parameter's name. */
function fhirPathOf({ place, root }: BadInputError): string {
  if (place.in !== 'body') return String(place.path[0]);
  const type = (root as { resourceType?: unknown } | undefined)?.resourceType;
  return fhirPath(typeof type === 'string' ? type : 'Resource', place.path);
}

export interface FailureResponse {
  status: number;
  body: OperationOutcome;
  /** WWW-Authenticate for 401/403. */
  challenge?: string;
  /** Retry-After seconds for 503. */
  retryAfter?: number;
}

/** Any error thrown while serving a FHIR request, as the OperationOutcome answered for it (500 for the unexpected). */
export function failureOf(err: unknown): FailureResponse | undefined {
  if (err instanceof BadInputError) return { status: 400, body: outcome('invalid', err.message, 'error', [fhirPathOf(err)]) };
  if (err instanceof FhirError) {
    const body = err.issues ? { resourceType: 'OperationOutcome' as const, issue: err.issues } : outcome(err.code, err.message, 'error', err.expression);
    return { status: err.status, body };
  }
  if (err instanceof HubError) {
    const [status, code] = BY_KIND[err.kind];
    // Field pointers of the domain (/birth_date) are not FHIRPath: they stay in the diagnostics.
    const detail = err.issues.length > 0 ? `${err.message} (${err.issues.map((i) => i.pointer ?? i.parameter).join(', ')})` : err.message;
    return {
      status,
      body: outcome(code, detail),
      ...(err instanceof AuthError ? { challenge: err.challenge } : {}),
    };
  }
  if (databaseUnavailable(err)) {
    return { status: 503, body: outcome('transient', 'the database is unavailable; retry later'), retryAfter: RETRY_AFTER_SECONDS };
  }
  const db = databaseProblem(err);
  if (db) {
    return {
      status: db.status,
      body: outcome(db.status === 409 ? 'duplicate' : (BY_STATUS[db.status] ?? 'invalid'), db.detail ?? db.title),
      ...(db.status === 503 ? { retryAfter: RETRY_AFTER_SECONDS } : {}),
    };
  }
  const status = (err as FastifyError).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: outcome(BY_STATUS[status] ?? 'invalid', (err as Error).message) };
  }
  return undefined;
}
