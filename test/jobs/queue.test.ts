import { sql } from 'drizzle-orm';
import t from 'tap';
import { JobQueue, type QueueDefinition } from '../../src/jobs/queue.js';
import { locations } from '../../src/db/schema/index.js';
import { freshDatabase } from '../helpers/hub.js';

const silent = { error: () => {}, warn: () => {} };
const queue = (name: string, retryLimit = 2): QueueDefinition => ({ name, retryLimit, retryDelaySeconds: 1, expireInSeconds: 60 });

async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, attempts = 1200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

t.test('jobs are delivered with their data, once', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const jobs = await JobQueue.start(database, [queue('echo')], silent);
  t.teardown(() => jobs.stop());
  const seen: object[] = [];
  await jobs.work<{ n: number }>('echo', async (data) => {
    seen.push(data);
  });
  await jobs.send('echo', { n: 1, nested: { ok: true } });
  await eventually(() => (seen.length === 1 ? true : undefined), 'delivery');
  t.same(seen, [{ n: 1, nested: { ok: true } }]);
  await t.rejects(jobs.send('nope', {}), /unknown queue nope/);
});

t.test('a job sent inside a transaction exists only if the transaction commits', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const jobs = await JobQueue.start(database, [queue('changes')], silent);
  t.teardown(() => jobs.stop());
  const seen: string[] = [];

  await t.rejects(
    database.db.transaction(async (tx) => {
      await tx.insert(locations).values({ code: 'ROLLED-BACK', name: 'x', level: 1, path: 'a' });
      await jobs.send('changes', { code: 'ROLLED-BACK' }, { tx });
      throw new Error('abort');
    }),
    /abort/,
  );
  await database.db.transaction(async (tx) => {
    await tx.insert(locations).values({ code: 'COMMITTED', name: 'x', level: 1, path: 'b' });
    await jobs.send('changes', { code: 'COMMITTED' }, { tx });
  });
  await jobs.work<{ code: string }>('changes', async (data) => {
    seen.push(data.code);
  });
  await eventually(() => (seen.length > 0 ? true : undefined), 'the committed job');
  await new Promise((r) => setTimeout(r, 1500));
  t.same(seen, ['COMMITTED'], 'the rolled-back job never ran');
  const [count] = await database.db.select({ n: sql<number>`count(*)::int` }).from(locations);
  t.equal(count!.n, 1);
});

t.test('a failing job is retried with backoff, then parked in the dead-letter queue', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const jobs = await JobQueue.start(database, [queue('flaky', 1)], silent);
  t.teardown(() => jobs.stop());
  const attempts: number[] = [];
  await jobs.work('flaky', async (_data, job) => {
    attempts.push(job.retryCount);
    throw new Error('partner down');
  });
  await jobs.send('flaky', { to: 'partner' });
  await eventually(async () => ((await jobs.deadJobs('flaky')) === 1 ? true : undefined), 'dead-lettering');
  t.same(attempts, [0, 1], 'first attempt and one retry');
});

t.test('a delayed job waits for its start time', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const jobs = await JobQueue.start(database, [queue('later')], silent);
  t.teardown(() => jobs.stop());
  const seen: object[] = [];
  await jobs.work('later', async (data) => {
    seen.push(data);
  });
  await jobs.send('later', { delayed: true }, { startAfterSeconds: 3600 });
  await jobs.send('later', { delayed: false });
  await eventually(() => (seen.length === 1 ? true : undefined), 'the undelayed job');
  await new Promise((r) => setTimeout(r, 1500));
  t.same(seen, [{ delayed: false }], 'the delayed one has not run');
});

t.test('queued jobs survive a restart of the queue', async (t) => {
  const database = await freshDatabase(t);
  await database.migrate();
  const before = await JobQueue.start(database, [queue('durable')], silent);
  await before.send('durable', { kept: true });
  await before.stop();
  const after = await JobQueue.start(database, [queue('durable')], silent);
  t.teardown(() => after.stop());
  const seen: object[] = [];
  await after.work('durable', async (data) => {
    seen.push(data);
  });
  await eventually(() => (seen.length === 1 ? true : undefined), 'delivery after restart');
  t.same(seen, [{ kept: true }]);
});

t.test('a changed retry schedule applies to a queue made by an earlier start', async (t) => {
  const database = await freshDatabase(t);
  const settings = async () => (await database.executeSql(`SELECT retry_limit, retry_delay, expire_seconds FROM pgboss.queue WHERE name = 'changing'`)).rows;
  const first = await JobQueue.start(database, [queue('changing', 2)], silent);
  await first.stop();
  t.same(await settings(), [{ retry_limit: 2, retry_delay: 1, expire_seconds: 60 }]);
  const second = await JobQueue.start(database, [{ name: 'changing', retryLimit: 9, retryDelaySeconds: 10, expireInSeconds: 70 }], silent);
  t.teardown(() => second.stop());
  t.same(await settings(), [{ retry_limit: 9, retry_delay: 10, expire_seconds: 70 }], 'the new schedule, not the first one');
});
