/**
 * Errors the domain raises. Each surface maps them to its own format (problem+json, OperationOutcome, DCI codes),
 * so domain code never knows about HTTP.
 */
export type ErrorKind =
  | 'invalid'
  | 'unprocessable'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'precondition_failed'
  | 'precondition_required'
  | 'too_large';

/** One problem with one input: `pointer` is a JSON Pointer into the body, `parameter` a query/path/header name. */
export interface FieldIssue {
  pointer?: string;
  parameter?: string;
  detail: string;
}

/** A failure the operator can fix (bad usage, a locked data directory, an unreachable source): one line, no stack. */
export class OperatorError extends Error {}

export class HubError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** A missing, invalid or insufficient bearer token; `challenge` becomes the WWW-Authenticate header. */
export class AuthError extends HubError {
  constructor(
    kind: 'unauthorized' | 'forbidden',
    message: string,
    readonly challenge: string,
  ) {
    super(kind, message);
  }
}

export const notFound = (what: string, id: string) => new HubError('not_found', `${what} ${id} does not exist`);
export const gone = (what: string, id: string) => new HubError('gone', `${what} ${id} has been deleted`);
export const invalid = (message: string, pointer?: string) =>
  new HubError('invalid', message, pointer === undefined ? [] : [{ pointer, detail: message }]);
/** Well-formed input that breaks a rule of the registry (dates out of order, a reference to nothing …). */
export const unprocessable = (message: string, pointer?: string) =>
  new HubError('unprocessable', message, pointer === undefined ? [] : [{ pointer, detail: message }]);
export const conflict = (message: string) => new HubError('conflict', message);
