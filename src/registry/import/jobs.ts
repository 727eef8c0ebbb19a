import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { importIssues, imports, importUploads } from '../../db/schema/index.js';
import { HubError, notFound } from '../../errors.js';
import type { JobQueue, QueueDefinition, Worker } from '../../jobs/queue.js';
import { systemActor, type Actor } from '../../security/actor.js';
import type { ImportType } from './fields.js';
import { MappingError, mappingFrom } from './mapping.js';
import type { RowIssue } from './merge.js';
import { runImport } from './run.js';
import type { SourceFormat } from './source.js';

export type ImportRow = typeof imports.$inferSelect;

export const IMPORT_QUEUE: QueueDefinition = { name: 'registry-import', retryLimit: 2, retryDelaySeconds: 30, expireInSeconds: 6 * 3600 };

/** Upload chunk size: large enough for few rows, small enough to stay well inside any statement size limit. */
const CHUNK_BYTES = 1 << 20;

export interface ImportRequest {
  type: ImportType;
  format: SourceFormat;
  fileName: string;
  source: string;
  mapping?: unknown;
  dryRun: boolean;
  allOrNothing: boolean;
}

/**
 * Stores an uploaded file (streamed, in chunks) and queues its import. The import row and its job are created in
 * one transaction once the whole file is stored, so a broken upload never starts an import. A bad mapping is
 * refused before anything is stored.
 */
export async function submitImport(
  database: Database,
  jobs: JobQueue,
  actor: Actor,
  request: ImportRequest,
  body: Readable,
  maxBytes: number,
): Promise<ImportRow> {
  if (actor.locationId !== null) {
    throw new HubError('forbidden', 'bulk import is for clients without a geographic restriction: an import may touch any area');
  }
  if (request.mapping !== undefined) {
    try {
      mappingFrom(request.mapping, request.type);
    } catch (err) {
      if (err instanceof MappingError) throw new HubError('unprocessable', err.message, [{ pointer: '/mapping', detail: err.message }]);
      throw err;
    }
  }
  const { db } = database;
  const [row] = await db
    .insert(imports)
    .values({
      type: request.type,
      format: request.format,
      source: request.source,
      fileName: request.fileName,
      status: 'uploading',
      dryRun: request.dryRun,
      allOrNothing: request.allOrNothing,
      mapping: request.mapping ?? null,
      createdBy: actor.id,
    })
    .returning();
  const id = row!.id;
  let bytes = 0;
  try {
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await db.insert(importUploads).values({ importId: id, seq: seq++, data: Buffer.concat(pending) });
      pending = [];
      pendingBytes = 0;
    };
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new HubError('too_large', `the file is larger than ${maxBytes} bytes (HUB_IMPORT_MAX_BYTES)`);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= CHUNK_BYTES) await flush();
    }
    await flush();
    if (bytes === 0) throw new HubError('invalid', 'the file is empty');
  } catch (err) {
    await db.delete(importUploads).where(eq(importUploads.importId, id));
    await db.delete(imports).where(eq(imports.id, id));
    throw err;
  }
  return db.transaction(async (tx) => {
    const [queued] = await tx.update(imports).set({ status: 'queued', bytes }).where(eq(imports.id, id)).returning();
    await jobs.send(IMPORT_QUEUE.name, { importId: id }, { tx });
    return queued!;
  });
}

export async function findImport(db: Db, actor: Actor, id: string): Promise<ImportRow> {
  const [row] = /^[0-9a-f-]{36}$/i.test(id) ? await db.select().from(imports).where(eq(imports.id, id)) : [];
  if (!row || (row.createdBy !== actor.id && !actor.scopes.includes('admin'))) throw notFound('import', id);
  return row;
}

/** Every refused row of an import, in line order, read a page at a time (keyset on line and id). */
export async function* importIssuesOf(db: Db, importId: string, pageSize = 5000) {
  let after = { line: 0, id: 0 };
  for (;;) {
    const page = await db
      .select({ id: importIssues.id, line: importIssues.line, column: importIssues.column, reason: importIssues.reason })
      .from(importIssues)
      .where(and(eq(importIssues.importId, importId), sql`(${importIssues.line}, ${importIssues.id}) > (${after.line}, ${after.id})`))
      .orderBy(asc(importIssues.line), asc(importIssues.id))
      .limit(pageSize);
    for (const issue of page) yield issue;
    if (page.length < pageSize) return;
    after = page.at(-1)!;
  }
}

/** Writes the stored upload back to a temporary file, chunk by chunk, for the streaming import pipeline. */
async function materialise(db: Db, row: ImportRow): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-import-'));
  const file = path.join(dir, `${row.id}.${row.format === 'ndjson' ? 'ndjson' : 'csv'}`);
  async function* chunks() {
    for (let seq = 0; ; seq++) {
      const [chunk] = await db.select({ data: importUploads.data }).from(importUploads).where(and(eq(importUploads.importId, row.id), eq(importUploads.seq, seq)));
      if (!chunk) return;
      yield Buffer.from(chunk.data);
    }
  }
  await pipeline(chunks(), fs.createWriteStream(file));
  return file;
}

/**
 * Works queued imports with the same pipeline as `hub import`: rows read and counts are updated as batches commit,
 * every refused row is stored for the error report, and the upload is dropped once the import is over. A retried
 * job starts the file again, which the import's upserts make safe.
 */
export function importWorker(database: Database): Worker<{ importId: string }> {
  const { db } = database;
  return {
    queue: IMPORT_QUEUE,
    handler: async ({ importId }, job) => {
      const [row] = await db.select().from(imports).where(eq(imports.id, importId));
      if (!row || row.status === 'succeeded' || row.status === 'failed') return;
      await db.delete(importIssues).where(eq(importIssues.importId, importId));
      await db.update(imports).set({ status: 'running', startedAt: new Date(), error: null }).where(eq(imports.id, importId));
      const file = await materialise(db, row);
      let issues: RowIssue[] = [];
      const saveIssues = async () => {
        if (issues.length === 0) return;
        const batch = issues;
        issues = [];
        await db.insert(importIssues).values(batch.map((i) => ({ importId, line: i.line, column: i.column ?? null, reason: i.reason })));
      };
      let saving: Promise<void> = Promise.resolve();
      try {
        const summary = await runImport(database, systemActor(`import:${row.createdBy}`), {
          file,
          type: row.type as ImportType,
          format: row.format as SourceFormat,
          ...(row.mapping ? { mapping: mappingFrom(row.mapping, row.type as ImportType) } : {}),
          dryRun: row.dryRun,
          allOrNothing: row.allOrNothing,
          onIssue: (issue) => {
            issues.push(issue);
            if (issues.length >= 1000) saving = saving.then(saveIssues);
          },
          onProgress: (read) => {
            saving = saving.then(() => db.update(imports).set({ rowsRead: read }).where(eq(imports.id, importId)).then(() => undefined));
          },
        });
        await saving;
        await saveIssues();
        await finish(db, importId, 'succeeded', {
          rowsRead: summary.read,
          inserted: summary.inserted,
          updated: summary.updated,
          unchanged: summary.unchanged,
          rejected: summary.rejected,
          duplicatesFlagged: summary.flagged,
          committed: summary.committed,
        });
      } catch (err) {
        await saving.catch(() => {});
        // A mapping that does not fit the file fails the same way every time: no retry.
        const final = err instanceof MappingError || job.retryCount >= IMPORT_QUEUE.retryLimit;
        if (final) await finish(db, importId, 'failed', { error: (err as Error).message.slice(0, 2000) });
        else await db.update(imports).set({ status: 'queued', error: (err as Error).message.slice(0, 2000) }).where(eq(imports.id, importId));
        if (!final) throw err;
      } finally {
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
      }
    },
  };
}

async function finish(db: Db, importId: string, status: 'succeeded' | 'failed', values: Partial<ImportRow>) {
  await db.transaction(async (tx) => {
    await tx.update(imports).set({ ...values, status, finishedAt: new Date() }).where(eq(imports.id, importId));
    await tx.delete(importUploads).where(eq(importUploads.importId, importId));
  });
}
