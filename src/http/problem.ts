import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthError, HubError, type ErrorKind, type FieldIssue } from '../errors.js';

/** RFC 9457 problem details; `errors` lists field-level issues (the RFC's own example extension). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldIssue[];
  request_id?: string;
}

const STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  gone: 410,
  conflict: 409,
  precondition_failed: 412,
  unprocessable: 422,
  precondition_required: 428,
  too_large: 413,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Problem type URIs name the kind of failure; they identify, they are not meant to be dereferenced. */
export const problemType = (slug: string) => `urn:convergence-hub:problem:${slug}`;

/** `Content Too Large` → `content-too-large`: the type of framework errors (bad JSON, body too large …). */
export const statusSlug = (status: number) => (TITLES[status] ?? 'client-error').toLowerCase().replaceAll(' ', '-');

export function problem(status: number, slug: string, detail: string, errors?: FieldIssue[]): Problem {
  return {
    type: problemType(slug),
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function problemOf(err: HubError): Problem {
  return problem(STATUS[err.kind], err.kind.replaceAll('_', '-'), err.message, err.issues);
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, body: Problem, err?: unknown) {
  if (err instanceof AuthError) reply.header('www-authenticate', err.challenge);
  return reply
    .code(body.status)
    .type('application/problem+json')
    .send({ ...body, instance: request.url, request_id: request.id });
}
