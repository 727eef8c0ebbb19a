import PgBoss from 'pg-boss';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Db } from '../db/client.js';
import { transactionExecutor } from '../db/sql-executor.js';

/** A durable queue: its jobs survive restarts, failed ones are retried with backoff, then parked in `<name>.dead`. */
export interface QueueDefinition {
  name: string;
  /** Attempts after the first one. */
  retryLimit: number;
  /** Seconds before the first retry; doubled at each further one (exponential backoff with jitter). */
  retryDelaySeconds: number;
  /** A job running longer than this is considered crashed and retried. */
  expireInSeconds: number;
}

export interface SendOptions {
  /** Enqueue inside this transaction: the job exists if and only if the transaction commits. */
  tx?: Db;
  startAfterSeconds?: number;
}

export type JobHandler<T> = (data: T, job: { id: string; retryCount: number }) => Promise<void>;

/** A queue and the handler that works it; features declare them, the composition root (app.ts) starts them. */
export interface Worker<T extends object = never> {
  queue: QueueDefinition;
  handler: JobHandler<T>;
}

type Logger = Pick<FastifyBaseLogger, 'error' | 'warn'>;

export const deadLetterOf = (queue: string) => `${queue}.dead`;

/**
 * pg-boss over the hub's own database connection (PGlite or postgres.js): one database, one set of credentials,
 * and jobs can be enqueued in the same transaction as the change that causes them.
 */
export class JobQueue {
  private constructor(
    private readonly boss: PgBoss,
    private readonly queues: Map<string, QueueDefinition>,
  ) {}

  /** `cron`: run pg-boss's cron monitor here, which turns stored schedules into jobs (once across all instances). */
  static async start(database: Database, definitions: QueueDefinition[], log: Logger, options: { cron?: boolean } = {}): Promise<JobQueue> {
    const boss = new PgBoss({ db: database, schema: 'pgboss', supervise: true, schedule: options.cron ?? false });
    boss.on('error', (err) => log.error({ err }, 'job queue error'));
    await boss.start();
    for (const queue of definitions) {
      await boss.createQueue(deadLetterOf(queue.name), { name: deadLetterOf(queue.name), retentionDays: 30 });
      const options = {
        name: queue.name,
        retryLimit: queue.retryLimit,
        retryDelay: queue.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: queue.expireInSeconds,
        deadLetter: deadLetterOf(queue.name),
      };
      await boss.createQueue(queue.name, options);
      // createQueue leaves an existing queue as it was made: a changed retry schedule (configuration) is applied here.
      await boss.updateQueue(queue.name, options);
    }
    return new JobQueue(boss, new Map(definitions.map((q) => [q.name, q])));
  }

  /** Answers the new job's id. */
  async send(queue: string, data: object, options: SendOptions = {}): Promise<string> {
    if (!this.queues.has(queue)) throw new Error(`unknown queue ${queue}`);
    const id = await this.boss.send(queue, data, {
      ...(options.tx ? { db: transactionExecutor(options.tx) } : {}),
      ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
    });
    if (id === null) throw new Error(`queue ${queue} refused the job`);
    return id;
  }

  /** Runs `handler` for each job of the queue; a throw fails the attempt (retried, then dead-lettered). */
  async work<T extends object>(queue: string, handler: JobHandler<T>, pollingIntervalSeconds = 1): Promise<void> {
    await this.boss.work<T>(queue, { pollingIntervalSeconds, includeMetadata: true }, async (jobs) => {
      for (const job of jobs) await handler(job.data, { id: job.id, retryCount: job.retryCount });
    });
  }

  async workAll(workers: readonly Worker<never>[]): Promise<void> {
    for (const worker of workers) await this.work(worker.queue.name, worker.handler as JobHandler<object>);
  }

  /** Makes the cron schedules of the queues named `prefix…` exactly `wanted` (queue name → cron, UTC). */
  async reschedule(prefix: string, wanted: Map<string, string>): Promise<void> {
    for (const { name } of await this.boss.getSchedules()) {
      if (name.startsWith(prefix) && !wanted.has(name)) await this.boss.unschedule(name);
    }
    for (const [name, cron] of wanted) await this.boss.schedule(name, cron, {}, { tz: 'UTC' });
  }

  async schedules(): Promise<{ name: string; cron: string }[]> {
    return (await this.boss.getSchedules()).map(({ name, cron }) => ({ name, cron }));
  }

  async deadJobs(queue: string): Promise<number> {
    return this.boss.getQueueSize(deadLetterOf(queue));
  }

  /** Stops fetching, waits for running handlers, then returns; the database stays open. */
  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, close: false });
  }
}
