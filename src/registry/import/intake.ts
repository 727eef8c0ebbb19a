import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../../db/client.js';
import { intakeCursors } from '../../db/schema/index.js';
import type { Actor } from '../../security/actor.js';
import { runImport, type ImportOptions, type ImportSummary } from './run.js';

/** One form submission from a data-collection tool: when it was submitted, and its answers by question name. */
export interface Submission {
  submittedAt: string;
  values: Record<string, unknown>;
}

/**
 * A data-collection source (a KoBoToolbox form …): its submissions made after `since` (all when undefined), oldest
 * first. Adapters in src/adapters/intake implement it.
 */
export interface IntakeSource {
  /** Stable name of the source, under which its cursor is kept (e.g. kobo:{asset uid}). */
  name: string;
  submissions(since: string | undefined): AsyncIterable<Submission>;
}

export interface IntakeSummary extends ImportSummary {
  source: string;
  /** Submission time of the newest submission pulled, now the source's cursor (unchanged when nothing was new). */
  cursor: string | null;
}

async function cursorOf(db: Db, source: string): Promise<string | undefined> {
  const rows = await db.select().from(intakeCursors).where(sql`${intakeCursors.source} = ${source}`);
  return rows[0] ? new Date(rows[0].lastSubmissionTime).toISOString() : undefined;
}

/**
 * Pulls a source's new submissions through the import pipeline (same mapping, validation, upserts and report as a
 * file), incrementally: only submissions after the stored cursor are fetched, and the cursor moves to the newest one
 * once the import has committed — so a failed or dry run pulls the same submissions again next time. Submissions
 * are spooled to a temporary NDJSON file, keeping memory flat however many there are.
 */
export async function pullIntake(
  database: Database,
  actor: Actor,
  source: IntakeSource,
  options: Omit<ImportOptions, 'file' | 'format'>,
): Promise<IntakeSummary> {
  const since = await cursorOf(database.db, source.name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-intake-'));
  const file = path.join(dir, `${source.name.replace(/[^A-Za-z0-9_-]/g, '_')}.ndjson`);
  const out = fs.createWriteStream(file);
  try {
    let newest: string | undefined;
    try {
      for await (const submission of source.submissions(since)) {
        if (!out.write(`${JSON.stringify(submission.values)}\n`)) await once(out, 'drain');
        const at = new Date(submission.submittedAt).toISOString();
        if (newest === undefined || at > newest) newest = at;
      }
    } finally {
      out.end();
      if (!out.closed) await once(out, 'close');
    }
    const summary = await runImport(database, actor, { ...options, file, format: 'ndjson' });
    if (summary.committed && newest !== undefined) {
      await database.db
        .insert(intakeCursors)
        .values({ source: source.name, lastSubmissionTime: newest })
        .onConflictDoUpdate({ target: intakeCursors.source, set: { lastSubmissionTime: newest, updatedAt: new Date() } });
    }
    return { ...summary, source: source.name, file: source.name, cursor: summary.committed ? (newest ?? since ?? null) : (since ?? null) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
