import { CompactSign } from 'jose';
import type { Config } from '../../config.js';
import type { GatewayRegistry, PaymentGateway } from '../../payments/gateway.js';
import type { KeyStore } from '../../security/keys.js';
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
export function paymentGateways(config: Config, keys: KeyStore): GatewayRegistry {
  const gateways = new Map<string, PaymentGateway>();
  for (const [name, def] of Object.entries(config.paymentGateways)) {
    gateways.set(
      name,
      def.adapter === 'sandbox'
        ? new SandboxGateway(name, { failureRate: def.failure_rate, seed: def.seed, settle: def.settle, batchSize: def.batch_size })
        : new FileGateway(name, { directory: def.directory, batchSize: def.batch_size, sign: manifestSigner(keys) }),
    );
  }
  return gateways;
}
