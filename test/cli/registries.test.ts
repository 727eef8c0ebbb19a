import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { fakeOpenCrvs } from '../helpers/fake-opencrvs.js';
import { freshDatabaseEnv, TEST_OUTBOUND } from '../helpers/hub.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function hub(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/hub.js', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env }, timeout: 180_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

t.test('hub registries pull: the reconciliation pull from the command line', async (t) => {
  const crvs = await fakeOpenCrvs(t);
  crvs.records.push({ event: 'death', record: { identifier: [{ type: 'DRN', value: 'DRN-CLI' }, { type: 'NID', value: 'N-NOBODY' }], given_name: 'Cli', family_name: 'Pull', deathdate: '2025-01-01' } });
  const registries = [{ name: 'opencrvs', kind: 'dci-crvs', base_url: crvs.base, auth: { token_url: `${crvs.base}/oauth2/client/token`, client_id: 'hub', client_secret: 'x' }, jwks_from_sender_id: true }];
  const env = { ...(await freshDatabaseEnv(t)), ...TEST_OUTBOUND, HUB_REGISTRIES: JSON.stringify(registries) };

  const pulled = await hub(['registries', 'pull', 'opencrvs', '--from', '2025-01-01', '--to', '2025-12-31', '--events', 'death'], env);
  t.equal(pulled.code, 0, pulled.stderr);
  t.same(JSON.parse(pulled.stdout), { recorded: 0, duplicate: 0, review: 1 }, 'an unknown person is left for review');
  t.equal(crvs.searches.length, 1);

  const usage = await hub(['registries', 'pull', 'opencrvs', '--from', 'yesterday'], env);
  t.not(usage.code, 0);
  t.match(usage.stderr, /usage: hub registries pull/);
  const unknown = await hub(['registries', 'pull', 'nowhere', '--from', '2025-01-01', '--to', '2025-01-02'], env);
  t.match(unknown.stderr, /no DCI CRVS named nowhere/);
  const badConfig = await hub(['registries', 'pull', 'x', '--from', '2025-01-01', '--to', '2025-01-02'], { ...env, HUB_REGISTRIES: '[{"name": "x", "kind": "dci-crvs", "base_url": "ftp://x"}]' });
  t.match(badConfig.stderr, /HUB_REGISTRIES: registry 0 \(x\): base_url/);
});
