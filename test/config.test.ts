import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.js';

t.test('defaults', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 8080);
  t.equal(config.host, '127.0.0.1');
  t.match(config.dataDir, /\/data$/);
  t.equal(config.databaseUrl, undefined);
  t.equal(config.publicUrl, 'http://127.0.0.1:8080');
  t.equal(config.tokenAudience, config.publicUrl);
  t.equal(config.keyAlgorithm, 'ES256');
  t.same(config.fhirIdentifierSystems, {});
  t.same(config.defaultApprovals, {}, 'no approval unless asked');
});

t.test('HUB_APPROVALS: levels per kind of status change', async (t) => {
  t.same(loadConfig({ HUB_APPROVALS: '{"enrolment": 1, "death_suspension": 2}' }).defaultApprovals, { enrolment: 1, death_suspension: 2 });
});

t.test('DCI attribute aliases: none configured by default, else the JSON object given', async (t) => {
  t.same(loadConfig({}).dci.aliases, {});
  t.same(loadConfig({ DCI_ATTRIBUTE_ALIASES: '{"hh_size": "group_size", "pov": "poverty_score"}' }).dci.aliases, { hh_size: 'group_size', pov: 'poverty_score' });
});

t.test('DCI transaction retention: 90 days swept hourly by default, 0 keeps them forever', async (t) => {
  t.same(loadConfig({}).dci.retention, { days: 90, intervalMs: 3_600_000 });
  t.same(loadConfig({ DCI_TRANSACTION_RETENTION_DAYS: '0', DCI_RETENTION_INTERVAL: '60' }).dci.retention, { days: 0, intervalMs: 60_000 });
  t.equal(loadConfig({ DCI_TRANSACTION_RETENTION_DAYS: '1', DCI_CLOCK_SKEW: '300' }).dci.retention.days, 1, 'a day is more than twice a 5-minute skew');
});

t.test('FHIR identifier systems: TYPE=URI pairs', async (t) => {
  const config = loadConfig({ HUB_FHIR_IDENTIFIER_SYSTEMS: 'NIN=https://id.example.gov/nin, UIN=urn:oid:2.16.840.1' });
  t.same(config.fhirIdentifierSystems, { NIN: 'https://id.example.gov/nin', UIN: 'urn:oid:2.16.840.1' });
});

t.test('external registries: a scheduled pull with its defaults; bad pull settings refused', async (t) => {
  const crvs = { name: 'crvs', kind: 'dci-crvs', base_url: 'https://crvs.example', jwks_url: 'https://crvs.example/jwks' };
  const [registry] = loadConfig({ HUB_REGISTRIES: JSON.stringify([{ ...crvs, pull: { schedule: ' 0 2  * * * ' } }]) }).registries;
  t.same(registry!.pull, { schedule: '0 2 * * *', window_days: 2, event_types: ['birth', 'death'] });
  const refused = (pull: unknown, kind = 'dci-crvs') => t.throws(() => loadConfig({ HUB_REGISTRIES: JSON.stringify([{ ...crvs, kind, pull }]) }), { variable: 'HUB_REGISTRIES', message: /pull/ });
  refused({ schedule: 'every day' });
  refused({ schedule: '0 2 * *' });
  refused({ schedule: '0 2 * * *', window_days: 0 });
  refused({ schedule: '0 2 * * *', event_types: ['wedding'] });
  refused({ schedule: '0 2 * * *' }, 'dci-sr');
});

t.test('a bad value names its variable', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x/y' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ HUB_PUBLIC_URL: 'ftp://hub' }, 'HUB_PUBLIC_URL'],
    [{ HUB_TOKEN_TTL: '5' }, 'HUB_TOKEN_TTL'],
    [{ HUB_SECRET: 'short' }, 'HUB_SECRET'],
    [{ HUB_KEY_ALG: 'HS256' }, 'HUB_KEY_ALG'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ HUB_FHIR_IDENTIFIER_SYSTEMS: 'NIN' }, 'HUB_FHIR_IDENTIFIER_SYSTEMS'],
    [{ HUB_FHIR_IDENTIFIER_SYSTEMS: 'nin=https://id.example/nin' }, 'HUB_FHIR_IDENTIFIER_SYSTEMS'],
    [{ HUB_FHIR_IDENTIFIER_SYSTEMS: 'NIN=not a uri' }, 'HUB_FHIR_IDENTIFIER_SYSTEMS'],
    [{ HUB_FHIR_IDENTIFIER_SYSTEMS: 'NIN=https://id.example/a|b' }, 'HUB_FHIR_IDENTIFIER_SYSTEMS'],
    [{ HUB_APPROVALS: '{"enrolment": 1' }, 'HUB_APPROVALS'],
    [{ HUB_APPROVALS: '[1]' }, 'HUB_APPROVALS'],
    [{ HUB_APPROVALS: '{"payments": 1}' }, 'HUB_APPROVALS'],
    [{ HUB_APPROVALS: '{"status_change": 6}' }, 'HUB_APPROVALS'],
    [{ HUB_APPROVALS: '{"status_change": 1.5}' }, 'HUB_APPROVALS'],
    [{ DCI_ATTRIBUTE_ALIASES: '{"hh_size": ' }, 'DCI_ATTRIBUTE_ALIASES'],
    [{ DCI_ATTRIBUTE_ALIASES: '["hh_size"]' }, 'DCI_ATTRIBUTE_ALIASES'],
    [{ DCI_ATTRIBUTE_ALIASES: '{"hh_size": 3}' }, 'DCI_ATTRIBUTE_ALIASES'],
    [{ DCI_ATTRIBUTE_ALIASES: '{"hh size": "group_size"}' }, 'DCI_ATTRIBUTE_ALIASES'],
    [{ DCI_ATTRIBUTE_ALIASES: '{"x": "x"}' }, 'DCI_ATTRIBUTE_ALIASES'],
    [{ DCI_TRANSACTION_RETENTION_DAYS: '-1' }, 'DCI_TRANSACTION_RETENTION_DAYS'],
    [{ DCI_TRANSACTION_RETENTION_DAYS: '1', DCI_CLOCK_SKEW: '43200' }, 'DCI_TRANSACTION_RETENTION_DAYS'],
    [{ DCI_RETENTION_INTERVAL: '0' }, 'DCI_RETENTION_INTERVAL'],
    [{ HUB_RATE_LIMIT: '-1' }, 'HUB_RATE_LIMIT'],
    [{ HUB_RATE_LIMIT_ADDRESS: 'many' }, 'HUB_RATE_LIMIT_ADDRESS'],
    [{ HUB_RATE_LIMIT_WINDOW: '0' }, 'HUB_RATE_LIMIT_WINDOW'],
    [{ HUB_AUTH_FAILURES: '1.5' }, 'HUB_AUTH_FAILURES'],
    [{ HUB_AUTH_LOCKOUT: '0' }, 'HUB_AUTH_LOCKOUT'],
    [{ HUB_AUTH_LOCKOUT: '600', HUB_AUTH_LOCKOUT_MAX: '60' }, 'HUB_AUTH_LOCKOUT_MAX'],
    [{ HUB_TRUST_PROXY: 'true' }, 'HUB_TRUST_PROXY'],
    [{ HUB_TRUST_PROXY: '10.0.0.0/33' }, 'HUB_TRUST_PROXY'],
    [{ HUB_TRUST_PROXY: '10.0.0.1,' }, 'HUB_TRUST_PROXY'],
  ];
  for (const [env, variable] of cases) {
    let thrown: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof ConfigError, `${JSON.stringify(env)} is refused`);
    t.equal((thrown as ConfigError).variable, variable, `and the error names ${variable}`);
    t.match((thrown as Error).message, new RegExp(`^${variable}: `));
  }
});

t.test('request limits, lockout and trusted proxies', async (t) => {
  const defaults = loadConfig({});
  t.same(defaults.rateLimit, { perClient: 300, perAddress: 600, windowSeconds: 10 });
  t.same(defaults.authLockout, { perClient: 10, perAddress: 50, windowSeconds: 900, lockSeconds: 60, maxLockSeconds: 3600 });
  t.equal(defaults.trustProxy, undefined);
  t.equal(loadConfig({ HUB_TRUST_PROXY: ' 10.0.0.5, 10.1.0.0/16,::1 ' }).trustProxy, '10.0.0.5,10.1.0.0/16,::1');
  t.equal(loadConfig({ HUB_RATE_LIMIT: '0' }).rateLimit.perClient, 0, '0 turns a limit off');
});

t.test('DATABASE_URL and public URL are taken as given', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/hub', HUB_PUBLIC_URL: 'https://hub.example.gov/' });
  t.equal(config.databaseUrl, 'postgresql://u:p@db:5432/hub');
  t.equal(config.publicUrl, 'https://hub.example.gov');
});
