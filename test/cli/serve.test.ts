import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../helpers/hub.js';
import { freePort } from '../helpers/net.js';

const hubBin = path.resolve(import.meta.dirname, '../../bin/hub.js');

async function waitFor<T>(probe: () => Promise<T | undefined>, attempts = 900): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('gave up waiting');
}

t.test('hub serve: bootstrap client, real HTTP, graceful shutdown of in-flight requests', async (t) => {
  const dataDir = tempDir(t);
  const port = await freePort();
  // The server under test uses the embedded database in either run: this test is about the process, not SQL.
  const env: NodeJS.ProcessEnv = { ...process.env, HUB_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  const child = spawn(process.execPath, [hubBin, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${base}/health`)).ok ? true : undefined));
  const bootstrapFile = path.join(dataDir, 'bootstrap-client.json');
  t.equal(fs.statSync(bootstrapFile).mode & 0o777, 0o600, 'bootstrap credentials are readable by the owner only');
  const { client_id, client_secret } = JSON.parse(fs.readFileSync(bootstrapFile, 'utf8'));
  t.match(stdout, bootstrapFile, 'the log names the credentials file');
  t.notMatch(stdout, client_secret, 'the log never holds the secret');

  const tokenRes = await fetch(`${base}/oauth2/client/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }),
  });
  const { access_token } = (await tokenRes.json()) as { access_token: string };
  t.notMatch(stdout, access_token, 'the log never holds a token');

  // An in-flight request: headers sent, body not yet complete, when SIGTERM arrives.
  const body = JSON.stringify({ given_name: 'Ange', family_name: 'Iradukunda' });
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let response = '';
  socket.on('data', (d) => (response += d));
  const closed = new Promise((r) => socket.once('close', r));
  socket.write(
    `POST /api/v1/individuals HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${access_token}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.slice(0, 10),
  );
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  await waitFor(async () => (stdout.includes('shutting down') ? true : undefined));
  socket.write(body.slice(10));
  await closed;
  t.match(response, /^HTTP\/1\.1 201 /, 'the in-flight request completed');
  t.equal(await exited, 0, 'the process exited cleanly');
  t.match(stdout, /"msg":"stopped"/);
  await t.rejects(fetch(`${base}/health`), 'no longer listening');
});
