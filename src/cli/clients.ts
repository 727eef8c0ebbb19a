import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import { clients, locations } from '../db/schema/index.js';
import { systemActor } from '../security/actor.js';
import { createClient, type ClientInput } from '../security/clients.js';
import { SCOPE_NAMES } from '../security/scopes.js';
import { prepareDatabase } from '../setup.js';
import { print, withDatabase } from './database.js';
import { UsageError } from './usage-error.js';

/** parseArgs throws a TypeError on an unknown or malformed option: a usage mistake, reported in one line. */
function parseOptions(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        jwks: { type: 'string' },
        location: { type: 'string' },
        'client-id': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A missing or malformed --jwks file is a usage mistake, not a crash with a stack trace. */
function readJwks(file: string): ClientInput['jwks'] {
  let jwks: unknown;
  try {
    jwks = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--jwks: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray((jwks as { keys?: unknown } | null)?.keys)) throw new UsageError('--jwks: expected a JWK set {"keys": [...]}');
  return jwks as ClientInput['jwks'];
}

/** `hub clients create --name NAME --scopes "a b" [--jwks FILE] [--location CODE] [--client-id ID] [--json]` */
export async function clientsCommand(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'create') throw new UsageError('usage: hub clients create --name NAME --scopes "scope …" [--jwks FILE] [--location CODE] [--client-id ID] [--json]');
  const { values } = parseOptions(rest);
  if (!values.name || !values.scopes) throw new UsageError('--name and --scopes are required');
  const scopes = values.scopes.split(/[\s,]+/).filter(Boolean);
  // The API validates scope names against its schema; the CLI must too, or a typo becomes a useless grant.
  const unknown = scopes.filter((s) => !(SCOPE_NAMES as string[]).includes(s));
  if (unknown.length > 0) throw new UsageError(`--scopes: unknown scope ${unknown.join(', ')} (known: ${SCOPE_NAMES.join(' ')})`);
  const jwks = values.jwks ? readJwks(values.jwks) : undefined;

  const credentials = await withDatabase(config, async (database) => {
    await prepareDatabase(config, database);
    let locationId: string | undefined;
    if (values.location) {
      const [loc] = await database.db.select({ id: locations.id }).from(locations).where(eq(locations.code, values.location));
      if (!loc) throw new UsageError(`--location: no location with code ${values.location}`);
      locationId = loc.id;
    }
    // The API answers a duplicate with a 409; here the unique violation would surface as a stack trace.
    const clientId = values['client-id'];
    if (clientId && (await database.db.select({ id: clients.id }).from(clients).where(eq(clients.clientId, clientId))).length > 0) {
      throw new UsageError(`--client-id: a client ${clientId} already exists`);
    }
    return createClient(database.db, systemActor('system:cli'), {
      name: values.name!,
      scopes: scopes as ClientInput['scopes'],
      ...(values['client-id'] ? { client_id: values['client-id'] } : {}),
      ...(jwks ? { jwks } : {}),
      ...(locationId ? { location_id: locationId } : {}),
    });
  });
  if (values.json) {
    print(JSON.stringify({ client_id: credentials.client_id, client_secret: credentials.client_secret, scopes: credentials.client.scopes, location_id: credentials.client.location_id }));
  } else {
    print(`client_id:     ${credentials.client_id}\nclient_secret: ${credentials.client_secret}\nscopes:        ${credentials.client.scopes.join(' ')}\n(the secret is not stored; keep it now)`);
  }
}
