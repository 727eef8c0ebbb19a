/**
 * The hub under soak (bench/soak.ts forks it), in a process of its own so that its memory is measured alone. Configured
 * by the environment like `hub serve`; tells its parent where it listens, and answers each `sample` message with its
 * memory after a full garbage collection (run with --expose-gc), so that a leak shows as live heap that keeps growing.
 */
import { buildApp } from '../src/app.js';
import { openConfiguredDatabase } from '../src/cli/database.js';
import { loadConfig } from '../src/config.js';
import { prepareDatabase } from '../src/setup.js';

const send = (message: object) => process.send!(message);
const config = loadConfig(process.env);
const database = await openConfiguredDatabase(config);
await prepareDatabase(config, database);
const app = await buildApp({ config, database });
await app.listen({ host: '127.0.0.1', port: 0 });

process.on('message', async (message) => {
  if (message === 'sample') {
    (globalThis as { gc?: () => void }).gc?.();
    send({ kind: 'memory', ...process.memoryUsage() });
  } else if (message === 'stop') {
    await app.close();
    await database.close();
    process.disconnect();
  }
});
send({ kind: 'ready', origin: app.listeningOrigin });
