import { ConfigError, loadConfig } from './config.js';
import { HubError, OperatorError } from './errors.js';
import { UsageError } from './cli/usage-error.js';
import { configureOutbound } from './security/outbound.js';

// Command modules are imported when their command runs: a CLI call loads only what it uses.
const USAGE = `usage: hub <command>
  serve                         start the HTTP server (default)
  migrate                       apply database migrations and exit
  clients create --name NAME --scopes "SCOPE …" [--jwks FILE] [--location CODE] [--client-id ID] [--json]
  keys rotate                   make a new signing key (the old one stays published until its tokens expire)
  audit verify                  check the audit hash chain; exit 1 at the first broken link
  import FILE --type locations|individuals|households|members [--mapping FILE] [--dry-run] [--all-or-nothing]
         [--errors report.csv] [--batch-size N] [--json]
                                CSV or NDJSON into the registry (upsert); refused rows reported with their line
  intake kobo --url URL --asset UID --type TYPE --mapping FILE [--dry-run] [--json]
                                new KoBoToolbox submissions into the registry (KOBO_TOKEN in the environment)
  seed --individuals N [--seed S] [--csv DIR]
                                synthetic registry (households, people, locations) into the database or as CSV
  registries pull NAME --from YYYY-MM-DD --to YYYY-MM-DD [--events birth,death]
                                reconciliation: apply the events a DCI CRVS (HUB_REGISTRIES) registered in the range
  openapi                       print the OpenAPI document`;

async function run(argv: string[]): Promise<number> {
  const [command = 'serve', ...args] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'openapi') {
    const { printOpenApi } = await import('./cli/openapi.js');
    await printOpenApi();
    return 0;
  }
  const config = loadConfig();
  configureOutbound(config.outbound);
  switch (command) {
    case 'serve': {
      const { serve } = await import('./cli/serve.js');
      await serve(config);
      return 0;
    }
    case 'migrate': {
      const [{ print, withDatabase }, { prepareDatabase }] = await Promise.all([import('./cli/database.js'), import('./setup.js')]);
      await withDatabase(config, (database) => prepareDatabase(config, database));
      print('database is up to date');
      return 0;
    }
    case 'clients':
      await (await import('./cli/clients.js')).clientsCommand(config, args);
      return 0;
    case 'keys': {
      if (args[0] !== 'rotate') throw new UsageError('usage: hub keys rotate');
      const [{ print, withDatabase }, { prepareDatabase }, { KeyStore, keyStoreOptions }, { systemActor }] = await Promise.all([
        import('./cli/database.js'),
        import('./setup.js'),
        import('./security/keys.js'),
        import('./security/actor.js'),
      ]);
      await withDatabase(config, async (database) => {
        await prepareDatabase(config, database);
        const result = await new KeyStore(database.db, keyStoreOptions(config)).rotate(systemActor('system:cli'));
        print(JSON.stringify(result));
      });
      return 0;
    }
    case 'import':
      return (await import('./cli/import.js')).importCommand(config, args);
    case 'intake':
      return (await import('./cli/intake.js')).intakeCommand(config, args);
    case 'registries':
      await (await import('./cli/registries.js')).registriesCommand(config, args);
      return 0;
    case 'seed':
      await (await import('./cli/seed.js')).seedCommand(config, args);
      return 0;
    case 'audit': {
      if (args[0] !== 'verify') throw new UsageError('usage: hub audit verify');
      const [{ print, withDatabase }, { verifyAuditChain }] = await Promise.all([import('./cli/database.js'), import('./audit/log.js')]);
      const report = await withDatabase(config, async (database) => {
        await database.migrate();
        return verifyAuditChain(database.db);
      });
      print(JSON.stringify(report));
      return report.ok ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

/** Known failures end with one line on stderr naming the cause; anything else is a bug and shows its stack. */
function fail(err: unknown): number {
  if (err instanceof ConfigError) process.stderr.write(`configuration error: ${err.message}\n`);
  else if (err instanceof OperatorError) process.stderr.write(`${err.message}\n`);
  else if (err instanceof HubError) process.stderr.write(`refused: ${err.message}\n`);
  else {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = fail(err);
  },
);
