import { Type, type TProperties, type TSchema } from '@sinclair/typebox';
import { ATTRIBUTE_FILTER_PATTERN } from '../../registry/search.js';

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

/** Query strings refuse unknown parameters: a misspelt filter must not silently return the whole list. */
export const Query = <P extends TProperties>(properties: P) => Type.Object(properties, { additionalProperties: false });

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Page size.' }),
  cursor: Type.Optional(Type.String({ description: 'Opaque: the next_cursor of the previous page.' })),
};

/** Search parameters shared by the individual and group lists. */
export const SearchQuery = {
  attr: Type.Optional(
    Type.Array(Type.String({ pattern: ATTRIBUTE_FILTER_PATTERN }), {
      maxItems: 10,
      description: 'Attribute comparison key:op:value, op one of eq, ne, gt, gte, lt, lte (e.g. rooms:gte:3); repeat for several.',
    }),
  ),
  count: Type.Boolean({
    default: false,
    description: 'Add `total`, the number of matches over all pages, counted up to 10000 (`total_capped` says when there are more).',
  }),
};

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Null on the last page.' }),
  });

/** A search page: `total` (matches over all pages) only when the query asked for `count=true`. */
export const countedPageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Null on the last page.' }),
    total: Type.Optional(
      Type.Integer({ description: 'Number of matches over all pages, at most 10000; present with count=true.' }),
    ),
    total_capped: Type.Optional(Type.Boolean({ description: 'True when more than 10000 match (total is then 10000); present with count=true.' })),
  });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          pointer: Type.Optional(Type.String({ description: 'JSON Pointer into the request body.' })),
          parameter: Type.Optional(Type.String({ description: 'Query, path or header parameter.' })),
          detail: Type.String(),
        }),
      ),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json).' },
);

const problemRef = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
});

/** Error responses every protected route can give, for the OpenAPI document. */
export const errorResponses = (...extra: (400 | 404 | 409 | 410 | 412 | 413 | 422 | 428)[]) => {
  const all: Record<number, ReturnType<typeof problemRef>> = {
    401: problemRef('Missing, invalid or expired access token'),
    403: problemRef('The token lacks the required scope, or the record is outside its geographic scope'),
  };
  const texts = {
    400: 'Invalid request',
    404: 'Not found (or outside the geographic scope)',
    409: 'Conflict with a unique key or the current state',
    410: 'Deleted',
    412: 'Version mismatch (If-Match)',
    413: 'The body is larger than allowed',
    422: 'Breaks a registry rule',
    428: 'If-Match (or body version) required',
  } as const;
  for (const code of extra) all[code] = problemRef(texts[code]);
  return all;
};

export const IfMatchHeader = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'ETag of the version you last read, e.g. "3".' })),
});
