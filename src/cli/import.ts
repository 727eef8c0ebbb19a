import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify';
import type { Config } from '../config.js';
import { IMPORT_TYPES, type ImportType } from '../registry/import/fields.js';
import { MappingError, readMapping } from '../registry/import/mapping.js';
import type { RowIssue } from '../registry/import/merge.js';
import { runImport, type ImportSummary } from '../registry/import/run.js';
import { formatOf } from '../registry/import/source.js';
import { systemActor } from '../security/actor.js';
import { prepareDatabase } from '../setup.js';
import { UsageError } from './usage-error.js';
import { print, withDatabase } from './database.js';
import { Progress } from './progress.js';

const USAGE = `usage: hub import FILE --type ${IMPORT_TYPES.join('|')} [--mapping mapping.json] [--dry-run] [--all-or-nothing] [--errors report.csv] [--batch-size N] [--json]`;

function options(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        mapping: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        'all-or-nothing': { type: 'boolean', default: false },
        errors: { type: 'string' },
        'batch-size': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

const describe = (s: ImportSummary) =>
  `${s.type} from ${s.file}: ${s.read} rows read, ${s.inserted} inserted, ${s.updated} updated, ${s.unchanged} unchanged, ` +
  `${s.rejected} rejected, ${s.flagged} duplicates flagged, ${s.batches} batches${s.bulk ? ' (bulk load: search indexes rebuilt)' : ''}${s.committed ? '' : ' — nothing written (dry run or all-or-nothing)'}`;

/** `hub import FILE --type …`: every refused row goes to stderr (and --errors as CSV); exit 1 when any was refused. */
export async function importCommand(config: Config, args: string[]): Promise<number> {
  const { values, positionals } = options(args);
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError(USAGE);
  if (!values.type || !(IMPORT_TYPES as string[]).includes(values.type)) throw new UsageError(`--type: one of ${IMPORT_TYPES.join(', ')}\n${USAGE}`);
  const type = values.type as ImportType;
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  if (batchSize !== undefined && (!Number.isSafeInteger(batchSize) || batchSize < 1)) throw new UsageError('--batch-size: a whole number from 1');
  let mapping;
  try {
    mapping = values.mapping ? readMapping(values.mapping, type) : undefined;
  } catch (err) {
    if (err instanceof MappingError) throw new UsageError(err.message);
    throw err;
  }
  const errorFile = values.errors ? stringify({ header: true, columns: ['line', 'column', 'reason'] }) : undefined;
  const errorSink = values.errors ? fs.createWriteStream(values.errors) : undefined;
  if (errorFile && errorSink) errorFile.pipe(errorSink);
  const onIssue = (issue: RowIssue) => {
    process.stderr.write(`line ${issue.line}${issue.column ? `, ${issue.column}` : ''}: ${issue.reason}\n`);
    errorFile?.write([issue.line, issue.column ?? '', issue.reason]);
  };

  const started = Date.now();
  let summary: ImportSummary;
  try {
    summary = await withDatabase(config, async (database) => {
      await prepareDatabase(config, database);
      const progress = new Progress(`import ${type}`, undefined);
      try {
        return await runImport(database, systemActor('system:import'), {
          file,
          type,
          format: formatOf(file),
          ...(mapping ? { mapping } : {}),
          dryRun: values['dry-run'],
          allOrNothing: values['all-or-nothing'],
          ...(batchSize ? { batchSize } : {}),
          onIssue,
          onProgress: (read) => progress.update(read),
        });
      } finally {
        progress.done();
      }
    });
  } catch (err) {
    if (err instanceof MappingError) throw new UsageError(err.message);
    throw err;
  } finally {
    if (errorFile && errorSink) {
      errorFile.end();
      await new Promise((resolve) => errorSink.on('close', () => resolve(undefined)));
    }
  }
  const seconds = (Date.now() - started) / 1000;
  if (values.json) print(JSON.stringify({ ...summary, seconds }));
  else print(`${describe(summary)}; ${seconds.toFixed(1)} s (${Math.round(summary.read / Math.max(seconds, 0.001))} rows/s)`);
  return summary.rejected > 0 ? 1 : 0;
}
