import { bigint, boolean, customType, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { id } from './columns.js';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/** An import submitted through the API, worked as a background job; its counts grow while it runs. */
export const imports = pgTable('imports', {
  id: id(),
  type: text('type').notNull(),
  format: text('format').notNull(),
  /** upload, or the intake source it was pulled from (kobo:{asset}). */
  source: text('source').notNull(),
  fileName: text('file_name').notNull(),
  /** queued | running | succeeded | failed */
  status: text('status').notNull().default('queued'),
  dryRun: boolean('dry_run').notNull().default(false),
  allOrNothing: boolean('all_or_nothing').notNull().default(false),
  mapping: jsonb('mapping'),
  bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
  rowsRead: integer('rows_read').notNull().default(0),
  inserted: integer('inserted').notNull().default(0),
  updated: integer('updated').notNull().default(0),
  unchanged: integer('unchanged').notNull().default(0),
  rejected: integer('rejected').notNull().default(0),
  /** Possible duplicates the import flagged for review (see /duplicates). */
  duplicatesFlagged: integer('duplicates_flagged').notNull().default(0),
  /** False after a dry run, or an all-or-nothing import with refused rows. */
  committed: boolean('committed'),
  error: text('error'),
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  startedAt: timestamp('started_at', { withTimezone: true }),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
});

/**
 * The uploaded file, in chunks, until its import finishes: kept in the database rather than on one instance's disk,
 * so any instance can work the job, and a crash mid-upload leaves nothing half-queued.
 */
export const importUploads = pgTable(
  'import_uploads',
  {
    importId: text('import_id').notNull(),
    seq: integer('seq').notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.importId, t.seq] })],
);

/** Every refused row of an API import: the downloadable error report. */
export const importIssues = pgTable(
  'import_issues',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    importId: text('import_id').notNull(),
    line: integer('line').notNull(),
    column: text('column'),
    reason: text('reason').notNull(),
  },
  (t) => [index('import_issues_import_idx').on(t.importId, t.line, t.id)],
);

/** How far an intake source (a KoBoToolbox form …) has been pulled: the newest submission time imported. */
export const intakeCursors = pgTable('intake_cursors', {
  source: text('source').primaryKey(),
  lastSubmissionTime: timestamp('last_submission_time', { withTimezone: true, mode: 'string' }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
