import type { LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import type { TestHub } from './hub.js';

/** Small helpers shared by the admin API tests (test/http/**). */

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  request_id: string;
  errors?: { pointer?: string; parameter?: string; detail: string }[];
}

/** Asserts an RFC 9457 answer with this status (content type, required members, request id) and returns it. */
export function expectProblem(t: Test, res: LightMyRequestResponse, status: number, what = ''): ProblemBody {
  t.equal(res.statusCode, status, `${what} answers ${status}`.trim(), { body: res.body });
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what} is problem+json`);
  const body = res.json() as ProblemBody;
  t.equal(body.status, status, `${what} status member`);
  t.match(body.type, /\S/, `${what} has a type`);
  t.match(body.title, /\S/, `${what} has a title`);
  t.match(body.request_id, /\S/, `${what} has a request_id`);
  t.equal(body.request_id, res.headers['x-request-id'], `${what} request_id matches X-Request-Id`);
  return body;
}

/** POST /api/v1/<path>, asserting 201 and ETag "1"; answers the created record (untyped JSON, as res.json()). */
export async function create(t: Test, hub: TestHub, path: string, payload: object, token?: string): Promise<any> {
  const res = await hub.request({ method: 'POST', url: `/api/v1/${path}`, payload, ...(token ? { token } : {}) });
  t.equal(res.statusCode, 201, `POST ${path} answers 201`, { body: res.body });
  t.equal(res.headers.etag, '"1"', `POST ${path} answers ETag "1"`);
  return res.json();
}

/** Follows next_cursor from the first page to the last; answers every id seen (in order) and each page's size. */
export async function walk(
  hub: TestHub,
  url: string,
  limit: number,
  token?: string,
): Promise<{ ids: string[]; pageSizes: number[] }> {
  const ids: string[] = [];
  const pageSizes: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const page: LightMyRequestResponse = await hub.request({
      method: 'GET',
      url: `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ...(token ? { token } : {}),
    });
    if (page.statusCode !== 200) throw new Error(`GET ${url}: ${page.statusCode} ${page.body}`);
    const body = page.json() as { items: { id: string }[]; next_cursor: string | null };
    ids.push(...body.items.map((i) => i.id));
    pageSizes.push(body.items.length);
    cursor = body.next_cursor;
    if (pageSizes.length > 100) throw new Error(`GET ${url}: pagination does not end`);
  } while (cursor !== null);
  return { ids, pageSizes };
}

/** Ids of every item of one list page (fails the test unless the list answers 200). */
export async function listIds(t: Test, hub: TestHub, url: string, token?: string): Promise<string[]> {
  const res = await hub.request({ method: 'GET', url, ...(token ? { token } : {}) });
  t.equal(res.statusCode, 200, `GET ${url} answers 200`, { body: res.body });
  return (res.json().items as { id: string }[]).map((i) => i.id);
}

/** Audit actions recorded for one entity, oldest first. */
export async function auditActions(t: Test, hub: TestHub, entityId: string): Promise<string[]> {
  const res = await hub.request({ method: 'GET', url: `/api/v1/audit?entity_id=${entityId}&limit=500` });
  t.equal(res.statusCode, 200, res.body);
  const items = res.json().items as { action: string; entity_id: string }[];
  t.ok(items.every((i) => i.entity_id === entityId), 'audit filter returns only that entity');
  return items.map((i) => i.action).reverse();
}

/** The whole audit chain verifies. */
export async function expectAuditChainOk(t: Test, hub: TestHub) {
  const res = await hub.request({ method: 'GET', url: '/api/v1/audit/verify' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().ok, true, `audit chain verifies: ${res.body}`);
  t.ok(res.json().checked > 0, 'audit chain is not empty');
}

/** Two requests sent at once: answers their status codes, sorted. */
export async function racedStatuses(hub: TestHub, a: Parameters<TestHub['request']>[0], b: Parameters<TestHub['request']>[0]) {
  const [ra, rb] = await Promise.all([hub.request(a), hub.request(b)]);
  return { statuses: [ra.statusCode, rb.statusCode].sort(), responses: [ra, rb] };
}
