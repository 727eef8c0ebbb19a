import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch, type RequestInit, type Response } from 'undici';

/**
 * What the hub may call: partner callbacks and key sets, registries, gateways, KoBoToolbox. A registered or configured
 * URL must never let the hub reach the cloud metadata service or the internal network (SSRF), so only https to public
 * unicast addresses by default; `allowHttp` and `allowHosts` open that up for development, tests and deliberate
 * internal peers.
 */
export interface OutboundSettings {
  /** Plain http allowed (development and tests only). */
  allowHttp: boolean;
  /** Host names, addresses and CIDR ranges reachable even though loopback, private, link-local … */
  allowHosts: string[];
}

export class OutboundUrlError extends Error {
  override name = 'OutboundUrlError';
}

/** How a host name becomes addresses: `dns.lookup` in production; tests inject their own. */
export type Resolve = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemResolve: Resolve = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

const RANGE_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private (unique local)',
  linkLocal: 'link-local',
  carrierGradeNat: 'shared (carrier-grade NAT)',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
};

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** A host as compared: lower case, without IPv6 brackets or the root's trailing dot. */
const normalHost = (host: string) => host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');

interface AllowList {
  names: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

/** Checks one `allowHosts` entry; undefined when it is a host name, an address or a CIDR range. */
export function allowHostProblem(entry: string): string | undefined {
  if (ipaddr.isValidCIDR(entry) || ipaddr.isValid(entry) || HOST_NAME.test(normalHost(entry))) return undefined;
  return `"${entry}" is not a host name, an address or a CIDR range`;
}

function allowList(entries: string[]): AllowList {
  const list: AllowList = { names: new Set(), ranges: [] };
  for (const entry of entries) {
    if (ipaddr.isValidCIDR(entry)) {
      const [range, bits] = ipaddr.parseCIDR(entry);
      list.ranges.push(range.kind() === 'ipv6' && (range as ipaddr.IPv6).isIPv4MappedAddress() ? [(range as ipaddr.IPv6).toIPv4Address(), bits - 96] : [range, bits]);
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.process(entry);
      list.ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else list.names.add(normalHost(entry));
  }
  return list;
}

/** Why the hub must not connect to this address, or undefined. Only public unicast passes unless allow-listed. */
function refusal(address: string, allow: AllowList): string | undefined {
  const ip = ipaddr.process(address);
  if (allow.ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits))) return undefined;
  const range = ip.range();
  if (range === 'unicast') return undefined;
  return `${ip.toString()} (${RANGE_NAMES[range] ?? `special-purpose: ${range}`})`;
}

/** The policy for every outbound call: one per process, see configureOutbound. */
export class OutboundPolicy {
  private readonly allow: AllowList;
  private agent: Agent | undefined;

  constructor(
    readonly settings: OutboundSettings,
    private readonly resolve: Resolve = systemResolve,
  ) {
    this.allow = allowList(settings.allowHosts);
  }

  /**
   * The checks that need no network, at configuration and registration time and before each call: https (or http
   * when allowed), no credentials in the URL, and a literal address (in any of the forms the URL parser normalises:
   * 0x7f000001, 2130706433, 0177.0.0.1, [::ffff:127.0.0.1]) or `localhost` name not in a forbidden range.
   */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundUrlError('not a valid URL');
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.settings.allowHttp)) {
      throw new OutboundUrlError(this.settings.allowHttp ? 'must be an https or http URL' : 'must be an https URL');
    }
    if (url.username !== '' || url.password !== '') throw new OutboundUrlError('must not carry credentials (user:password@)');
    const host = normalHost(url.hostname);
    if (this.allow.names.has(host)) return url;
    if (net.isIP(host)) {
      const refused = refusal(host, this.allow);
      if (refused) throw new OutboundUrlError(`${refused} is not an address the hub calls`);
    } else if (host === 'localhost' || host.endsWith('.localhost')) {
      throw new OutboundUrlError(`${host} (loopback) is not a host the hub calls`);
    }
    return url;
  }

  /**
   * `parse`, then the host name resolved now: a name that resolves to a forbidden address is refused at once. A name
   * that does not resolve (yet) is accepted, as every connection checks the addresses again.
   */
  async check(raw: string): Promise<URL> {
    const url = this.parse(raw);
    const host = normalHost(url.hostname);
    if (net.isIP(host) || this.allow.names.has(host)) return url;
    let addresses: { address: string }[];
    try {
      addresses = await this.resolve(host);
    } catch {
      return url;
    }
    for (const { address } of addresses) {
      const refused = refusal(address, this.allow);
      if (refused) throw new OutboundUrlError(`${host} resolves to ${refused}, not an address the hub calls`);
    }
    return url;
  }

  /**
   * The one undici dispatcher of outbound calls. It checks the address each connection actually goes to: a literal
   * host, or every address its name resolves to at that moment (so a name re-pointed after registration, DNS
   * rebinding, is refused too).
   */
  get dispatcher(): Agent {
    this.agent ??= new Agent({ connect: this.connector() });
    return this.agent;
  }

  private connector(): buildConnector.connector {
    const lookup = (hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
      this.resolve(hostname).then(
        (found) => {
          const addresses = found.filter((a) => !options.family || a.family === options.family);
          if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
          if (!this.allow.names.has(normalHost(hostname))) {
            for (const { address } of addresses) {
              const refused = refusal(address, this.allow);
              if (refused) return callback(new OutboundUrlError(`${hostname} resolves to ${refused}: not connecting`));
            }
          }
          return options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (err: unknown) => callback(err),
      );
    };
    const connect = buildConnector({ lookup } as buildConnector.BuildOptions);
    return (options, callback) => {
      const host = normalHost(options.hostname);
      const refused = net.isIP(host) && !this.allow.names.has(host) ? refusal(host, this.allow) : undefined;
      if (refused) {
        callback(new OutboundUrlError(`${refused}: not connecting`), null);
        return;
      }
      connect(options, callback);
    };
  }

  /** fetch through the policy: the URL checked, the connection checked, redirects answered as they are (not followed). */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = this.parse(String(input));
    return undiciFetch(url, { ...init, redirect: 'manual', dispatcher: this.dispatcher });
  }
}

const STRICT: OutboundSettings = { allowHttp: false, allowHosts: [] };
let current = new OutboundPolicy(STRICT);

/**
 * Sets the process's outbound policy from the configuration (the composition root and the CLI do, at start). Until
 * then the strictest applies, so a code path that was never configured cannot call an internal address.
 */
export function configureOutbound(settings: OutboundSettings, resolve?: Resolve): void {
  current = new OutboundPolicy(settings, resolve);
}

export const outbound = (): OutboundPolicy => current;

/** fetch for every outbound HTTP call of the hub (the current policy's). */
export const outboundFetch = (input: string | URL, init?: RequestInit): Promise<Response> => current.fetch(input, init);
