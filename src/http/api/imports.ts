import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify';
import type { Database } from '../../db/client.js';
import { AuthError, HubError } from '../../errors.js';
import type { JobQueue } from '../../jobs/queue.js';
import { IMPORT_TYPES, type ImportType } from '../../registry/import/fields.js';
import { findImport, importIssuesOf, submitImport, type ImportRequest, type ImportRow } from '../../registry/import/jobs.js';
import type { SourceFormat } from '../../registry/import/source.js';
import { Uuid } from '../../registry/schemas.js';
import { hasScope, type Actor } from '../../security/actor.js';
import { bearerChallenge } from '../../security/tokens.js';
import { errorResponses, IdParams, Query } from './common.js';

const tags = ['imports'];

const ImportOptions = {
  type: Type.Union(IMPORT_TYPES.map((t) => Type.Literal(t)), { description: 'What the file holds.' }),
  format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { description: 'Default: from the content type or file name; else csv.' })),
  file_name: Type.Optional(Type.String({ maxLength: 255 })),
  dry_run: Type.Boolean({ default: false, description: 'Check every row and report, then roll everything back.' }),
  all_or_nothing: Type.Boolean({ default: false, description: 'One transaction: any refused row refuses the whole file.' }),
  mapping: Type.Optional(Type.String({ description: 'The column mapping as JSON (see README, Bulk import).' })),
};
const ImportQuery = Query(ImportOptions);

const ImportStatus = Type.Object(
  {
    id: Uuid,
    type: Type.String(),
    format: Type.String(),
    source: Type.String({ description: '`upload`, or the intake source it was pulled from.' }),
    file_name: Type.String(),
    status: Type.Union(['uploading', 'queued', 'running', 'succeeded', 'failed'].map((s) => Type.Literal(s))),
    dry_run: Type.Boolean(),
    all_or_nothing: Type.Boolean(),
    bytes: Type.Integer(),
    rows_read: Type.Integer(),
    accepted: Type.Integer({ description: 'Rows inserted, updated or already as given.' }),
    inserted: Type.Integer(),
    updated: Type.Integer(),
    unchanged: Type.Integer(),
    rejected: Type.Integer({ description: 'Rows refused; each is in the error report.' }),
    duplicates_flagged: Type.Integer({ description: 'Possible duplicates flagged for review (see /duplicates).' }),
    committed: Type.Union([Type.Boolean(), Type.Null()], { description: 'False after a dry run or a refused all-or-nothing file; null until finished.' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why the import as a whole failed.' }),
    errors_url: Type.String({ description: 'The error report: one CSV row (line, column, reason) per refused row.' }),
    created_by: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { $id: 'ImportStatus' },
);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function present(row: ImportRow, prefix: string): Static<typeof ImportStatus> {
  return {
    id: row.id,
    type: row.type,
    format: row.format,
    source: row.source,
    file_name: row.fileName,
    status: row.status as Static<typeof ImportStatus>['status'],
    dry_run: row.dryRun,
    all_or_nothing: row.allOrNothing,
    bytes: row.bytes,
    rows_read: row.rowsRead,
    accepted: row.inserted + row.updated + row.unchanged,
    inserted: row.inserted,
    updated: row.updated,
    unchanged: row.unchanged,
    rejected: row.rejected,
    duplicates_flagged: row.duplicatesFlagged,
    committed: row.committed,
    error: row.error,
    errors_url: `${prefix}/imports/${row.id}/errors`,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    started_at: iso(row.startedAt),
    finished_at: iso(row.finishedAt),
  };
}

const STREAMED_TYPES = ['text/csv', 'application/x-ndjson', 'application/ndjson', 'application/octet-stream'];

function formatOf(given: SourceFormat | undefined, contentType: string | undefined, fileName: string): SourceFormat {
  if (given) return given;
  if (contentType && /ndjson/.test(contentType)) return 'ndjson';
  return /\.(nd)?jsonl?$/i.test(fileName) ? 'ndjson' : 'csv';
}

function parseMapping(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HubError('invalid', 'mapping is not valid JSON', [{ parameter: 'mapping', detail: 'not valid JSON' }]);
  }
}

type Options = Static<typeof ImportQuery>;

/** A multipart upload: option fields first, then the `file` part, whose stream is handed on unread. */
async function fromMultipart(request: FastifyRequest): Promise<{ options: Record<string, unknown>; file: Readable; fileName: string; contentType: string }> {
  const options: Record<string, unknown> = {};
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      options[part.fieldname] = part.value;
      continue;
    }
    if (part.fieldname !== 'file') throw new HubError('invalid', `unexpected file part "${part.fieldname}"; send the file as "file"`);
    return { options, file: part.file, fileName: part.filename, contentType: part.mimetype };
  }
  throw new HubError('invalid', 'no "file" part in the form (put the option fields before it)');
}

function importRequest(actor: Actor, options: Options, fileName: string, contentType: string | undefined): ImportRequest {
  const name = options.file_name ?? fileName;
  const mapping = parseMapping(options.mapping);
  return {
    type: options.type as ImportType,
    format: formatOf(options.format, contentType, name),
    fileName: name,
    source: 'upload',
    ...(mapping === undefined ? {} : { mapping }),
    dryRun: options.dry_run,
    allOrNothing: options.all_or_nothing,
  };
}

/**
 * Bulk import as a background job: the file is streamed into the database, acknowledged with 202, imported by a
 * worker with the same pipeline as `hub import`; status and the error report are read back.
 */
export const importRoutes: FastifyPluginAsyncTypebox<{ database: Database; jobs: JobQueue; maxBytes: number }> = async (app, { database, jobs, maxBytes }) => {
  // One byte over the limit reaches the upload, which refuses it (busboy would otherwise cut the file silently).
  await app.register(multipart, { limits: { fileSize: maxBytes + 1, files: 1, fields: 10 } });
  app.addContentTypeParser(STREAMED_TYPES, (_request, payload, done) => done(null, payload));
  app.addSchema(ImportStatus);
  const prefix = app.prefix;

  app.post(
    '/imports',
    {
      config: { scope: 'registry:write', wholeRegistry: true },
      // The body is a stream and multipart fields are strings: the schemas document them, checkOptions checks them.
      validatorCompiler: () => () => true,
      schema: {
        tags,
        summary: 'Import a CSV or NDJSON file of locations, individuals, households, members or civil events (background job)',
        description:
          'Either a streamed body (`Content-Type: text/csv` or `application/x-ndjson`) with the options in the query string, or ' +
          '`multipart/form-data` with the option fields first and the file last as `file`. Answers 202 at once; poll the Location. ' +
          'Civil events also need the scope crvs:write.',
        querystring: Type.Partial(ImportQuery),
        body: {
          content: {
            'text/csv': { schema: { format: 'binary', description: 'The CSV file, header first.' } },
            'application/x-ndjson': { schema: { format: 'binary', description: 'One JSON object per line.' } },
            'multipart/form-data': {
              schema: {
                properties: { ...ImportOptions, file: { type: 'string', format: 'binary', description: 'The file (last part).' } },
              },
            },
          },
        },
        response: { 202: Type.Ref(ImportStatus), ...errorResponses(400, 413, 422) },
      },
    },
    async (request, reply) => {
      let options: Record<string, unknown> = { ...(request.query as object) };
      let file: Readable;
      let fileName = 'upload';
      let contentType = request.headers['content-type'];
      if (request.isMultipart()) {
        const upload = await fromMultipart(request);
        options = { ...options, ...upload.options };
        ({ file, fileName, contentType } = upload);
      } else {
        file = request.body as Readable;
      }
      const checked = checkOptions(options);
      // The worker imports as the system; civil events need what recording them through the API needs.
      if (checked.type === 'civil-events' && !hasScope(request.actor, 'crvs:write')) {
        throw new AuthError('forbidden', 'importing civil events needs the scope crvs:write', bearerChallenge('insufficient_scope', 'requires crvs:write', 'crvs:write'));
      }
      const row = await submitImport(database, jobs, request.actor, importRequest(request.actor, checked, fileName, contentType), file, maxBytes);
      return reply.code(202).header('location', `${prefix}/imports/${row.id}`).send(present(row, prefix));
    },
  );

  app.get(
    '/imports/:id',
    {
      config: { scope: 'registry:write', wholeRegistry: true },
      schema: { tags, summary: 'Status and counts of an import (the submitter\'s own, or any for admin)', params: IdParams, response: { 200: Type.Ref(ImportStatus), ...errorResponses(404) } },
    },
    async (request) => present(await findImport(database.db, request.actor, request.params.id), prefix),
  );

  app.get(
    '/imports/:id/errors',
    {
      config: { scope: 'registry:write', wholeRegistry: true },
      schema: {
        tags,
        summary: 'The error report of an import: one CSV row (line, column, reason) per refused row, in line order',
        params: IdParams,
        response: { 200: { content: { 'text/csv': { schema: { type: 'string' } } } }, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const row = await findImport(database.db, request.actor, request.params.id);
      const csv = stringify({ header: true, columns: ['line', 'column', 'reason'] });
      (async () => {
        try {
          for await (const issue of importIssuesOf(database.db, row.id)) {
            if (!csv.write([issue.line, issue.column ?? '', issue.reason])) await new Promise((r) => csv.once('drain', r));
          }
          csv.end();
        } catch (err) {
          csv.destroy(err as Error);
        }
      })();
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${row.id}-errors.csv"`)
        .send(csv);
    },
  );
};

/** Multipart fields arrive as strings: the same rules as the query string, with booleans spelt out. */
function checkOptions(raw: Record<string, unknown>): Options {
  const bool = (name: string) => {
    const v = raw[name];
    if (v === undefined || v === false || v === 'false') return false;
    if (v === true || v === 'true') return true;
    throw new HubError('invalid', `${name} must be true or false`, [{ parameter: name, detail: 'true or false' }]);
  };
  const type = raw.type;
  if (typeof type !== 'string' || !(IMPORT_TYPES as string[]).includes(type)) {
    throw new HubError('invalid', `type must be one of ${IMPORT_TYPES.join(', ')}`, [{ parameter: 'type', detail: 'required' }]);
  }
  if (raw.file_name !== undefined && (typeof raw.file_name !== 'string' || raw.file_name.length > 255)) {
    throw new HubError('invalid', 'file_name must be at most 255 characters', [{ parameter: 'file_name', detail: 'at most 255 characters' }]);
  }
  const format = raw.format;
  if (format !== undefined && format !== 'csv' && format !== 'ndjson') throw new HubError('invalid', 'format must be csv or ndjson', [{ parameter: 'format', detail: 'csv or ndjson' }]);
  const known = new Set(Object.keys(ImportOptions));
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new HubError('invalid', `unknown option ${unknown.join(', ')}`, unknown.map((k) => ({ parameter: k, detail: 'unknown' })));
  return {
    type: type as ImportType,
    ...(format ? { format: format as SourceFormat } : {}),
    ...(typeof raw.file_name === 'string' ? { file_name: raw.file_name } : {}),
    ...(typeof raw.mapping === 'string' ? { mapping: raw.mapping } : {}),
    dry_run: bool('dry_run'),
    all_or_nothing: bool('all_or_nothing'),
  };
}
