import { CompactSign } from 'jose';
import type { Config } from '../../config.js';
import type { QueueDefinition, Worker } from '../../jobs/queue.js';
import type { GatewayRegistry, PaymentGateway } from '../../payments/gateway.js';
import type { KeyStore } from '../../security/keys.js';
import { DciDisburseGateway, disburseQueue, type DciDisburseDeps } from './dci-disburse.js';
import { FileGateway, type ManifestSigner } from './file.js';
import { SandboxGateway } from './sandbox.js';

/** Media type of a signed payment manifest (the JWS `typ`). */
export const MANIFEST_TYPE = 'payment-manifest+jws';

/** Signs with the hub's active key; the manifest verifies against /.well-known/jwks.json. */
export function manifestSigner(keys: KeyStore): ManifestSigner {
  return async (manifest) => {
    const { kid, alg, key } = await keys.signingKey();
    return new CompactSign(new TextEncoder().encode(JSON.stringify(manifest))).setProtectedHeader({ alg, kid, typ: MANIFEST_TYPE }).sign(key);
  };
}

/** The gateways named in the configuration, each built by its adapter. */
export function paymentGateways(config: Config, deps: DciDisburseDeps): GatewayRegistry {
  const gateways = new Map<string, PaymentGateway>();
  for (const [name, def] of Object.entries(config.paymentGateways)) {
    gateways.set(
      name,
      def.adapter === 'sandbox'
        ? new SandboxGateway(name, { failureRate: def.failure_rate, seed: def.seed, settle: def.settle, batchSize: def.batch_size })
        : def.adapter === 'file'
          ? new FileGateway(name, { directory: def.directory, batchSize: def.batch_size, sign: manifestSigner(deps.keys) })
          : new DciDisburseGateway(name, def, deps),
    );
  }
  return gateways;
}

/** The job queues the configured gateways deliver through (created when the job queue starts). */
export const paymentQueues = (config: Config): QueueDefinition[] =>
  Object.entries(config.paymentGateways).flatMap(([name, def]) => (def.adapter === 'dci-disburse' ? [disburseQueue(name, def)] : []));

/** The gateways that deliver through jobs, and receive DCI callbacks, by name. */
export const disburseGateways = (gateways: GatewayRegistry): Map<string, DciDisburseGateway> =>
  new Map([...gateways].flatMap(([name, gateway]) => (gateway instanceof DciDisburseGateway ? [[name, gateway] as const] : [])));

/** Their delivery workers. */
export const paymentWorkers = (gateways: GatewayRegistry): Worker<never>[] =>
  [...disburseGateways(gateways).values()].map((gateway) => gateway.worker());
