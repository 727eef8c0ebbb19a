import { parseArgs } from 'node:util';
import { koboSource } from '../adapters/intake/kobo.js';
import type { Config } from '../config.js';
import { IMPORT_TYPES, type ImportType } from '../registry/import/fields.js';
import { pullIntake } from '../registry/import/intake.js';
import { MappingError, readMapping } from '../registry/import/mapping.js';
import { systemActor } from '../security/actor.js';
import { outbound, OutboundUrlError } from '../security/outbound.js';
import { prepareDatabase } from '../setup.js';
import { UsageError } from './usage-error.js';
import { print, withDatabase } from './database.js';

const USAGE = `usage: KOBO_TOKEN=… hub intake kobo --url URL --asset UID --type ${IMPORT_TYPES.join('|')} --mapping FILE [--dry-run] [--json]`;

/**
 * `hub intake kobo`: pulls a KoBoToolbox form's new submissions into the registry. The token comes from the
 * environment (KOBO_TOKEN), never from the command line, where other users of the machine could read it.
 */
export async function intakeCommand(config: Config, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        asset: { type: 'string' },
        type: { type: 'string' },
        mapping: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'kobo') throw new UsageError(USAGE);
  if (!values.url) throw new UsageError(`--url: the KoBoToolbox server, https://…\n${USAGE}`);
  try {
    await outbound().check(values.url);
  } catch (err) {
    if (err instanceof OutboundUrlError) throw new UsageError(`--url: ${err.message}`);
    throw err;
  }
  if (!values.asset) throw new UsageError(`--asset: the form's uid\n${USAGE}`);
  if (!values.type || !(IMPORT_TYPES as string[]).includes(values.type)) throw new UsageError(`--type: one of ${IMPORT_TYPES.join(', ')}\n${USAGE}`);
  if (!values.mapping) throw new UsageError(`--mapping: how the form's questions map to fields\n${USAGE}`);
  const token = env.KOBO_TOKEN;
  if (!token) throw new UsageError('KOBO_TOKEN: set it to the API token of a user who can view the submissions');
  const type = values.type as ImportType;
  let mapping;
  try {
    mapping = readMapping(values.mapping, type);
  } catch (err) {
    if (err instanceof MappingError) throw new UsageError(err.message);
    throw err;
  }
  const source = koboSource({ url: values.url, token, asset: values.asset });
  const summary = await withDatabase(config, async (database) => {
    await prepareDatabase(config, database);
    return pullIntake(database, systemActor('system:intake'), source, {
      type,
      mapping,
      dryRun: values['dry-run'],
      onIssue: (issue) => process.stderr.write(`submission line ${issue.line}${issue.column ? `, ${issue.column}` : ''}: ${issue.reason}\n`),
    });
  });
  if (values.json) print(JSON.stringify(summary));
  else {
    print(
      `${summary.source}: ${summary.read} submissions read, ${summary.inserted} inserted, ${summary.updated} updated, ` +
        `${summary.unchanged} unchanged, ${summary.rejected} rejected; cursor ${summary.cursor ?? 'none'}`,
    );
  }
  return summary.rejected > 0 ? 1 : 0;
}
