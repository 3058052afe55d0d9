// Which addresses http_fetch may connect to. A model steered by a web page
// must not reach the LAN (router admin, Home Assistant, MQTT bridges) or the
// device itself, so every address a host name resolves to is checked, and
// IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4) are judged by
// the IPv4 address inside.
import dns from 'node:dns';
import net from 'node:net';

type Range = [prefix: number[], bits: number, what: string];

const V4: Range[] = [
  [[0, 0, 0, 0], 8, 'a "this network" address'],
  [[10, 0, 0, 0], 8, 'a private address'],
  [[100, 64, 0, 0], 10, 'a carrier-grade NAT address'],
  [[127, 0, 0, 0], 8, 'a loopback address'],
  [[169, 254, 0, 0], 16, 'a link-local address'],
  [[172, 16, 0, 0], 12, 'a private address'],
  [[192, 0, 0, 0], 24, 'a reserved address'],
  [[192, 0, 2, 0], 24, 'a documentation address'],
  [[192, 168, 0, 0], 16, 'a private address'],
  [[198, 18, 0, 0], 15, 'a benchmarking address'],
  [[198, 51, 100, 0], 24, 'a documentation address'],
  [[203, 0, 113, 0], 24, 'a documentation address'],
  [[224, 0, 0, 0], 4, 'a multicast address'],
  [[240, 0, 0, 0], 4, 'a reserved or broadcast address'],
];

const V6: Range[] = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 128, 'the unspecified address'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, 'a loopback address'],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'a discard-only address'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'a documentation address'],
  [[0xfc], 7, 'a unique-local (private) address'],
  [[0xfe, 0x80], 10, 'a link-local address'],
  [[0xfe, 0xc0], 10, 'a site-local address'],
  [[0xff], 8, 'a multicast address'],
];

/** Why `ip` may not be reached (e.g. "a loopback address"), or null for a public address. */
export function blockedReason(ip: string): string | null {
  const v4 = parseV4(ip);
  if (v4) return match(v4, V4);
  const b = parseV6(ip);
  if (!b) return 'not a valid IP address';
  const direct = match(b, V6);
  if (direct) return direct;
  const embedded = embeddedV4(b);
  if (embedded) {
    const why = match(embedded.v4, V4);
    return why ? `${why} (${embedded.kind})` : null;
  }
  return null;
}

function embeddedV4(b: number[]): { v4: number[]; kind: string } | null {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return { v4: b.slice(12), kind: 'IPv4-mapped' };
  // ::a.b.c.d (IPv4-compatible, deprecated); :: and ::1 are matched before this.
  if (zeros(0, 12)) return { v4: b.slice(12), kind: 'IPv4-compatible' };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return { v4: b.slice(12), kind: 'NAT64' };
  if (b[0] === 0x20 && b[1] === 0x02) return { v4: b.slice(2, 6), kind: '6to4' };
  return null;
}

function match(bytes: number[], ranges: Range[]): string | null {
  for (const [prefix, bits, what] of ranges) {
    let ok = true;
    for (let i = 0; ok && i * 8 < bits; i++) {
      const take = Math.min(8, bits - i * 8);
      const mask = (0xff << (8 - take)) & 0xff;
      ok = ((bytes[i] ?? 0) & mask) === ((prefix[i] ?? 0) & mask);
    }
    if (ok) return what;
  }
  return null;
}

function parseV4(ip: string): number[] | null {
  if (net.isIPv4(ip)) return ip.split('.').map(Number);
  return null;
}

function parseV6(input: string): number[] | null {
  let ip = input.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!net.isIPv6(ip)) return null;
  // A trailing dotted quad becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted) {
    const q = dotted[1]!.split('.').map(Number);
    ip = ip.slice(0, dotted.index) + `${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** The error a refused connection fails with; http_fetch shows its message as is. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_AEON_BLOCKED_ADDRESS';
}

export type AddressPolicy = (ip: string) => string | null;

export function refusal(host: string, ip: string, why: string): BlockedAddressError {
  const shown = host === ip ? ip : `${host} (${ip})`;
  return new BlockedAddressError(
    `Refused: ${shown} is ${why}. http_fetch reaches public internet addresses only; private, loopback and link-local targets need tools.http_fetch.allow_private in aeon.json.`,
  );
}

/**
 * A `lookup` for net.connect (undici's `connect.lookup`): resolves like
 * dns.lookup, then refuses the connection when any address is blocked — all of
 * them, not just the first, so a name that answers both public and private
 * addresses cannot be used to slip through.
 */
export function guardedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      for (const a of addresses) {
        const why = policy(a.address);
        if (why) return callback(refusal(hostname, a.address, why), '');
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
