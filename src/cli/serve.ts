import pino from 'pino';
import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { unsignedPartners } from '../dci/partners.js';
import { loggerOptions } from '../http/logging.js';
import { prepareDatabase } from '../setup.js';
import { openConfiguredDatabase } from './database.js';

/** Starts the HTTP server; SIGTERM/SIGINT stop accepting, let in-flight requests finish, then close the database. */
export async function serve(config: Config): Promise<void> {
  const logger = pino(loggerOptions(config));
  const database = await openConfiguredDatabase(config);
  const { bootstrapFile } = await prepareDatabase(config, database);
  if (bootstrapFile) logger.warn({ path: bootstrapFile }, 'created the bootstrap admin client; its credentials are in this file');
  const app = await buildApp({ config, database, logger });
  const unsigned = await unsignedPartners(database.db);
  if (unsigned.length > 0) logger.warn({ clients: unsigned }, 'DCI partners with signature_policy off: their messages are not verified');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const deadline = setTimeout(() => {
      app.log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs);
    deadline.unref();
    await app.close();
    await database.close();
    app.log.info('stopped');
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  app.log.info({ database: database.kind, publicUrl: config.publicUrl }, 'convergence hub ready');
}
