// Who the client is: the peer, or — when the peer is a trusted proxy — the right-most X-Forwarded-For address that is
// not itself trusted, as nginx's realip module with `real_ip_recursive on` finds it.
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  readonly #list = new BlockList();
  /** No trusted proxies (the default): the peer is the client and nothing is parsed. */
  readonly none: boolean;

  constructor(entries: readonly string[]) {
    this.none = entries.length === 0;
    for (const entry of entries) {
      const slash = entry.indexOf('/');
      const address = slash === -1 ? entry : entry.slice(0, slash);
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (slash === -1) this.#list.addAddress(address, type);
      else this.#list.addSubnet(address, Number(entry.slice(slash + 1)), type);
    }
  }

  /** The address is one of ours (an IPv4-mapped IPv6 address matches its IPv4 entry, as BlockList does). */
  trusts(address: string): boolean {
    if (this.none) return false;
    const family = isIP(address);
    return family !== 0 && this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * The real client of a request from `peer` carrying `xff`: the peer itself unless it is trusted; else X-Forwarded-For
   * walked from the right past trusted addresses. All trusted: the left-most. An entry that is not an address stops the
   * walk at the last good one (nginx declines the same way), so a garbled header never yields a made-up client.
   */
  clientOf(peer: string, xff: string | string[] | undefined): string {
    if (this.none || xff === undefined || !this.trusts(peer)) return peer;
    const chain = typeof xff === 'string' ? xff : xff.join(',');
    let client = peer;
    let end = chain.length;
    while (end > 0) {
      const comma = chain.lastIndexOf(',', end - 1);
      const address = bareAddress(chain.slice(comma + 1, end).trim());
      end = comma;
      if (address === '') {
        if (comma === -1) break;
        continue;
      }
      if (isIP(address) === 0) break;
      client = address;
      if (!this.trusts(address)) break;
    }
    return client;
  }
}

/** `1.2.3.4:5678` -> `1.2.3.4`, `[2001:db8::1]:443` -> `2001:db8::1`; anything else unchanged. */
function bareAddress(text: string): string {
  if (text.charCodeAt(0) === 0x5b /* [ */) {
    const close = text.indexOf(']');
    return close === -1 ? text : text.slice(1, close);
  }
  const colon = text.indexOf(':');
  // One colon: IPv4 with a port; more: a bare IPv6 address.
  return colon !== -1 && text.indexOf(':', colon + 1) === -1 ? text.slice(0, colon) : text;
}
