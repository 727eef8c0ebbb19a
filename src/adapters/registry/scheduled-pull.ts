import type { Db } from '../../db/client.js';
import type { JobQueue, QueueDefinition, Worker } from '../../jobs/queue.js';
import type { ExternalRegistryConfig } from './config.js';
import { pullEvents } from './dci-intake.js';
import type { RegistryAdapter } from './registries.js';

/**
 * Scheduled reconciliation pulls: each dci-crvs registry with a `pull` schedule gets a queue whose pg-boss cron
 * schedule enqueues one pull job at a time across all instances; the job pulls the registrations of the last
 * `window_days` days, and events already applied are skipped, so overlapping windows and retries are harmless.
 */
const QUEUE_PREFIX = 'registry-pull.';
const DAY_MS = 24 * 3600 * 1000;

const pullQueue = (name: string): QueueDefinition => ({ name: `${QUEUE_PREFIX}${name}`, retryLimit: 5, retryDelaySeconds: 60, expireInSeconds: 3600 });

const scheduled = (configs: ExternalRegistryConfig[]) => configs.filter((c) => c.pull !== undefined);

export const pullQueues = (configs: ExternalRegistryConfig[]): QueueDefinition[] => scheduled(configs).map((c) => pullQueue(c.name));

/** Their workers: one pull of the configured window per job. */
export function pullWorkers(db: Db, registries: Map<string, RegistryAdapter>, log: { info(obj: object, msg: string): void }): Worker<never>[] {
  return [...registries.values()].flatMap(({ config, dci }) => {
    if (!config.pull || !dci) return [];
    const { window_days: windowDays, event_types: eventTypes } = config.pull;
    return [
      {
        queue: pullQueue(config.name),
        handler: async () => {
          const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
          const to = day(Date.now());
          const from = day(Date.now() - windowDays * DAY_MS);
          const counts = await pullEvents(db, dci, eventTypes, from, to);
          log.info({ registry: config.name, from, to, ...counts }, 'scheduled registry pull done');
        },
      },
    ];
  });
}

/** Brings the stored cron schedules in line with the configuration: adds or updates ours, drops those no longer configured. */
export async function applyPullSchedules(jobs: JobQueue, configs: ExternalRegistryConfig[]): Promise<void> {
  const wanted = new Map(scheduled(configs).map((c) => [pullQueue(c.name).name, c.pull!.schedule]));
  await jobs.reschedule(QUEUE_PREFIX, wanted);
}
