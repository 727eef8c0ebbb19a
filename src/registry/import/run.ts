import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import path from 'node:path';
import { appendAudit } from '../../audit/log.js';
import type { BulkTransaction, Database } from '../../db/client.js';
import { suspendBenefitsOfDeceasedAmong } from '../../programmes/beneficiaries.js';
import type { Actor } from '../../security/actor.js';
import { mergeCivilEvents } from './civil-events.js';
import { convertRecord, type ImportType, type Row } from './fields.js';
import { identityMapping, type Mapping } from './mapping.js';
import { createKeyTable, dropKeyTable, mergeBatch, refreshStatistics, stagedIndividuals, type RowIssue, type StagedRow } from './merge.js';
import { flagProbableDuplicates } from '../duplicate-flags.js';
import { dropSearchIndexes, rebuildSearchIndexes, registryIsNearlyEmpty } from './search-indexes.js';
import { readRecords, type SourceFormat } from './source.js';

export interface ImportOptions {
  file: string;
  type: ImportType;
  format: SourceFormat;
  /** Without one, the file's columns must be the canonical field names. */
  mapping?: Mapping;
  /** Run everything, report what would happen, then roll it all back. */
  dryRun?: boolean;
  /** One transaction for the whole file, rolled back when any row is refused. */
  allOrNothing?: boolean;
  batchSize?: number;
  onIssue?: (issue: RowIssue) => void;
  /** Called after each batch is merged (committed, unless dry-run or all-or-nothing). */
  onProgress?: (read: number) => void;
}

export interface ImportSummary {
  id: string;
  type: ImportType;
  file: string;
  read: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** New duplicate candidates: rows held back for another person's identifier, and probable duplicates. */
  flagged: number;
  batches: number;
  /** The registry was (nearly) empty: search indexes were dropped for the load and rebuilt at the end. */
  bulk: boolean;
  /** False after a dry run, or an all-or-nothing import with refused rows: nothing was written. */
  committed: boolean;
}

class RollBack extends Error {}

/**
 * Streams a file through the mapping and validation into batches merged by `mergeBatch`. Each batch is its own
 * transaction (with one audit entry when it changed something), so a killed import leaves whole batches and a
 * re-run completes it. Bad rows are reported one by one through `onIssue` and the good ones kept — unless
 * `allOrNothing`. Memory stays flat: the keys already seen (to refuse duplicates within the file) are kept in the
 * database. Into a (nearly) empty registry, committed batch by batch, search indexes are dropped for the load and
 * rebuilt once at the end (or by the next import or hub start, if this one is killed).
 */
export async function runImport(database: Database, actor: Actor, options: ImportOptions): Promise<ImportSummary> {
  const { type } = options;
  const batchSize = options.batchSize ?? 25_000;
  const summary: ImportSummary = {
    id: randomUUID(),
    type,
    file: path.basename(options.file),
    read: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    flagged: 0,
    batches: 0,
    bulk: false,
    committed: !options.dryRun,
  };
  const rejectedLines = new Set<number>();
  const report = (issue: RowIssue) => {
    if (!rejectedLines.has(issue.line)) summary.rejected++;
    rejectedLines.add(issue.line);
    options.onIssue?.(issue);
  };
  let header: string[] = [];
  let mapping = options.mapping;
  const present = new Set<string>();
  let keys = '';

  let analyzeAt = batchSize;
  const merge = async (tx: BulkTransaction, rows: StagedRow[]) => {
    if (summary.inserted >= analyzeAt) {
      await refreshStatistics(tx.db, type, 'growing');
      analyzeAt *= 2;
    }
    const result =
      type === 'civil-events' ? await mergeCivilEvents(tx.db, actor, rows, keys) : await mergeBatch(tx, type, rows, present, keys, summary.bulk);
    if (type === 'individuals' && present.has('death_date')) {
      await suspendBenefitsOfDeceasedAmong(tx.db, actor, stagedIndividuals);
    }
    for (const issue of result.issues) report(issue);
    const accepted = rows.length - new Set(result.issues.map((i) => i.line)).size;
    summary.inserted += result.inserted;
    summary.updated += result.updated;
    summary.flagged += result.flagged;
    summary.unchanged += accepted - result.inserted - result.updated;
    summary.batches++;
    if (result.inserted + result.updated > 0) {
      await appendAudit(tx.db, actor, {
        action: `import.${type}`,
        entityType: 'import',
        entityId: summary.id,
        after: {
          file: summary.file,
          batch: summary.batches,
          first_line: rows[0]!.line,
          last_line: rows.at(-1)!.line,
          inserted: result.inserted,
          updated: result.updated,
          flagged: result.flagged,
        },
      });
    }
  };

  // The next batch is parsed while the previous one merges (at most one in flight), so parsing and the database
  // work side by side; memory holds two batches at most.
  const consume = async (flush: (rows: StagedRow[]) => Promise<void>) => {
    let batch: StagedRow[] = [];
    let inFlight: Promise<void> | undefined;
    for await (const record of readRecords(options.file, options.format, (columns) => (header = columns))) {
      summary.read++;
      if ('error' in record) {
        report({ line: record.line, reason: record.error, ...(record.column ? { column: record.column } : {}) });
        continue;
      }
      if (!mapping) mapping = identityMapping(type, header);
      if (present.size === 0) {
        for (const rule of mapping.columns.values()) if (rule.field) present.add(rule.field);
        if ([...mapping.columns.values()].some((r) => r.attribute)) present.add('attributes');
        for (const name of Object.keys(mapping.constants)) present.add(name);
      }
      const converted = convertRecord(type, mapping, record.values);
      if ('issues' in converted) {
        for (const issue of converted.issues) report({ line: record.line, ...issue });
        continue;
      }
      batch.push({ line: record.line, row: converted.row });
      if (batch.length >= batchSize) {
        await inFlight;
        const read = summary.read;
        inFlight = flush(batch).then(() => options.onProgress?.(read));
        // Awaited before the next flush; this only keeps a failure from being reported as unhandled meanwhile.
        inFlight.catch(() => {});
        batch = [];
      }
    }
    await inFlight;
    if (batch.length > 0) await flush(batch);
    options.onProgress?.(summary.read);
  };

  // Civil events are recorded through the registry's code, whose nested transactions (savepoints) need a Drizzle
  // transaction; they use no COPY.
  const transaction = <T>(run: (tx: BulkTransaction) => Promise<T>): Promise<T> =>
    type === 'civil-events' ? database.db.transaction((db) => run({ db, copyIn: () => Promise.reject(new Error('no COPY here')) })) : database.bulk(run);

  await rebuildSearchIndexes(database);
  await refreshStatistics(database.db, type, 'read');
  if (!options.dryRun && !options.allOrNothing) {
    summary.bulk = await registryIsNearlyEmpty(database.db, type);
    if (summary.bulk) await dropSearchIndexes(database, type);
    keys = await createKeyTable(database.db, summary.id);
    try {
      await consume((rows) => transaction((tx) => merge(tx, rows)));
    } finally {
      await dropKeyTable(database.db, keys);
      if (summary.bulk) {
        await rebuildSearchIndexes(database);
        await refreshStatistics(database.db, type, 'loaded');
      }
    }
    if (summary.bulk && type === 'individuals') {
      // The registry was (nearly) empty: the pass over everyone is the pass over this import's people. Committed on
      // its own; killed before it, the re-run (no longer a bulk load) checks every row batch by batch.
      summary.flagged += await database.bulk(async (tx) => {
        // The pass hashes the whole registry: in memory rather than in batches spilled to disk.
        if (database.kind === 'postgres') await tx.db.execute(sql`SET LOCAL work_mem = '256MB'`);
        return flagProbableDuplicates(tx.db, 'everyone');
      });
    }
    return summary;
  }
  try {
    await transaction(async (tx) => {
      keys = await createKeyTable(tx.db, summary.id);
      await consume((rows) => merge(tx, rows));
      if (options.dryRun || summary.rejected > 0) throw new RollBack();
    });
  } catch (err) {
    if (!(err instanceof RollBack)) throw err;
    summary.committed = false;
  }
  return summary;
}
