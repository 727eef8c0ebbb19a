import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  body: any;
}

/**
 * A partner's callback server on 127.0.0.1: records every POST; `failNext(n)` makes the next n answer 503, so
 * retries can be seen.
 */
export async function fakePartner(t: { teardown(fn: () => unknown): void }) {
  const received: Received[] = [];
  let failures = 0;
  let attempts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      attempts++;
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":{"ack_status":"ACK"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dci`;
  return {
    base,
    received,
    get attempts() {
      return attempts;
    },
    failNext(n: number) {
      failures = n;
    },
    /** Waits (polling, up to ~2 min) for the first callback to `path` matching `match`. */
    async next(path: string, match: (r: Received) => boolean = () => true): Promise<Received> {
      for (let i = 0; i < 1200; i++) {
        const hit = received.find((r) => r.path === path && match(r));
        if (hit) {
          received.splice(received.indexOf(hit), 1);
          return hit;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no callback to ${path} arrived`);
    },
  };
}
