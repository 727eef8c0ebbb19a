import { parseArgs } from 'node:util';
import { pullEvents } from '../adapters/registry/dci-intake.js';
import { registryAdapters } from '../adapters/registry/registries.js';
import type { Config } from '../config.js';
import { CIVIL_EVENT_TYPES, type CivilEventType } from '../registry/civil-event-schemas.js';
import { KeyStore, keyStoreOptions } from '../security/keys.js';
import { prepareDatabase } from '../setup.js';
import { UsageError } from './usage-error.js';
import { print, withDatabase } from './database.js';

const USAGE = 'usage: hub registries pull NAME --from YYYY-MM-DD --to YYYY-MM-DD [--events birth,death]';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `hub registries pull`: the reconciliation pull from a DCI CRVS (HUB_REGISTRIES), for a cron job or by hand; prints
 * how many events were recorded, already known, or left for review.
 */
export async function registriesCommand(config: Config, args: string[]): Promise<void> {
  const [sub, name, ...rest] = args;
  if (sub !== 'pull' || !name) throw new UsageError(USAGE);
  let values: { from?: string; to?: string; events?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { from: { type: 'string' }, to: { type: 'string' }, events: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (!values.from || !values.to || !DAY.test(values.from) || !DAY.test(values.to)) throw new UsageError(USAGE);
  const events = (values.events ?? 'birth,death').split(',').map((e) => e.trim());
  const unknown = events.find((e) => !(CIVIL_EVENT_TYPES as readonly string[]).includes(e));
  if (unknown) throw new UsageError(`unknown event type ${unknown} (use ${CIVIL_EVENT_TYPES.join(', ')})`);
  await withDatabase(config, async (database) => {
    await prepareDatabase(config, database);
    const keys = new KeyStore(database.db, keyStoreOptions(config));
    const adapters = registryAdapters(config.registries, { keys, senderId: config.dci.senderId, publicUrl: config.publicUrl, timeoutMs: config.dci.callbacks.timeoutMs });
    const client = adapters.get(name)?.dci;
    if (!client || client.registry.kind !== 'dci-crvs') throw new UsageError(`no DCI CRVS named ${name} in HUB_REGISTRIES`);
    print(JSON.stringify(await pullEvents(database.db, client, events as CivilEventType[], values.from!, values.to!)));
  });
}
