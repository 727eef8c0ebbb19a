import { randomUUID } from 'node:crypto';
import { DciPeer, DciClientError, type DciClientOptions, type Envelope } from '../../dci/client.js';
import type { ExternalRegistryConfig } from './config.js';

type Json = Record<string, unknown>;

/**
 * A DCI client of one external registry (a CRVS such as OpenCRVS's DCI API, or a social registry): the DCI transport
 * to its /registry/… endpoints, with callbacks to /dci/callbacks/{name}/registry/….
 */
export class DciClient extends DciPeer {
  constructor(
    readonly registry: ExternalRegistryConfig,
    options: DciClientOptions,
  ) {
    super(registry, options);
  }

  /** POSTs a signed message to one of their /registry/… endpoints; answers their (unverified) JSON body. */
  send(path: string, action: string, message: Json & { transaction_id: string }, count: number, callback?: string): Promise<Json> {
    return this.post(`registry/${path}`, action, message, count, callback ? `${this.options.callbackBase}/registry/${callback}` : undefined);
  }

  /** Sync search: the search_response items of their verified answer. */
  async search(items: Json[]): Promise<Json[]> {
    const answer = (await this.send('sync/search', 'search', { transaction_id: randomUUID(), search_request: items }, items.length)) as unknown as Envelope;
    const message = await this.open(answer);
    if (answer.header.status === 'rjct') throw new DciClientError(`${this.registry.name}: search rejected: ${String(answer.header.status_reason_code)}`);
    return ((message.search_response as Json[] | undefined) ?? []);
  }

  /** Subscribe to a vital event type; their on-subscribe reaches our callback. Answers the reference id sent. */
  async subscribe(regEventType: string, filter: Json): Promise<{ transactionId: string; referenceId: string }> {
    const transactionId = randomUUID();
    const referenceId = randomUUID();
    const item = {
      reference_id: referenceId,
      timestamp: new Date().toISOString(),
      subscribe_criteria: { reg_event_type: regEventType, filter_type: 'expression', filter, notify_record_type: 'spdci-extensions-dci:Person' },
    };
    const ack = await this.send('subscribe', 'subscribe', { transaction_id: transactionId, subscribe_request: [item] }, 1, 'on-subscribe');
    const status = (ack.message as Json | undefined)?.ack_status;
    if (status !== 'ACK') throw new DciClientError(`${this.registry.name}: subscribe not acknowledged: ${JSON.stringify(ack).slice(0, 300)}`);
    return { transactionId, referenceId };
  }
}
