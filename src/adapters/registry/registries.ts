import type { KeyStore } from '../../security/keys.js';
import { outboundFetch } from '../../security/outbound.js';
import type { ExternalRegistryConfig } from './config.js';
import { DciClient } from './dci.js';

export interface RegistryHealth {
  status: 'up' | 'down';
  detail?: string;
  checked_at: string;
}

/** An external registry behind one small interface; adding a kind means adding one module that implements it. */
export interface RegistryAdapter {
  config: ExternalRegistryConfig;
  health(): Promise<RegistryHealth>;
  /** The DCI client, for the DCI kinds. */
  dci?: DciClient;
}

const checked = async (probe: () => Promise<{ status: 'up' | 'down'; detail?: string }>): Promise<RegistryHealth> => ({
  ...(await probe()),
  checked_at: new Date().toISOString(),
});

/** A FHIR server is up when it answers its CapabilityStatement. */
function fhirAdapter(config: ExternalRegistryConfig, timeoutMs: number): RegistryAdapter {
  return {
    config,
    health: () =>
      checked(async () => {
        try {
          const res = await outboundFetch(`${config.base_url.replace(/\/+$/, '')}/metadata`, { headers: { accept: 'application/fhir+json' }, signal: AbortSignal.timeout(timeoutMs) });
          const body = (await res.json().catch(() => ({}))) as { resourceType?: string };
          return res.ok && body.resourceType === 'CapabilityStatement' ? { status: 'up' } : { status: 'down', detail: `metadata answered HTTP ${res.status}` };
        } catch (err) {
          return { status: 'down', detail: (err as Error).message.slice(0, 200) };
        }
      }),
  };
}

/** The configured registries, by name. */
export function registryAdapters(
  configs: ExternalRegistryConfig[],
  deps: { keys: KeyStore; senderId: string; publicUrl: string; timeoutMs: number },
): Map<string, RegistryAdapter> {
  const adapters = new Map<string, RegistryAdapter>();
  for (const config of configs) {
    if (config.kind === 'fhir') {
      adapters.set(config.name, fhirAdapter(config, deps.timeoutMs));
      continue;
    }
    const dci = new DciClient(config, {
      keys: deps.keys,
      senderId: deps.senderId,
      callbackBase: `${deps.publicUrl}/dci/callbacks/${config.name}`,
      timeoutMs: deps.timeoutMs,
    });
    adapters.set(config.name, { config, dci, health: () => checked(() => dci.health()) });
  }
  return adapters;
}
