// Making the mqtt.js client without what aeon does not use. `mqtt.connect`
// loads every transport it knows (WebSocket with `ws`, socks, url.parse) before
// it picks one: in the bundle that is +10 MB of RSS for an mqtt:// connection
// (scripts/bench/idle.ts). For mqtt:// and mqtts:// aeon opens the socket
// itself, as mqtt.js's tcp/tls builders do, and hands it to `MqttClient`;
// ws:// and wss:// (and a socks proxy from MQTTJS_SOCKS_PROXY) still go through
// `mqtt.connect`. Every client gets writeCache: false: mqtt.js otherwise
// builds a cache of 65,536 two-byte Buffers on its first packet, +17 MB RSS
// to save allocating two bytes per packet.
import type { IClientOptions, MqttClient } from 'mqtt';
import type * as Net from 'node:net';
import type * as Tls from 'node:tls';

export type ClientFactory = (opts: IClientOptions) => MqttClient;

/**
 * mqtt-packet keeps, for ever, one Buffer per packet length under 16,384 that
 * it has written (the encoded "remaining length"), cut from Node's Buffer
 * pool: each cached length pins a whole pool slab, 64 KiB on Node 24. Replies
 * and deltas come in every length, so RSS grew by ~14 MB per 5,000 turns
 * (scripts/bench/load.ts), towards 1 GiB. Its writer takes the function that
 * makes those buffers from numbers.js when it loads, so it is replaced first
 * with one whose buffers own their few bytes. Returns false (and changes
 * nothing) if mqtt-packet is not shaped as expected.
 */
export async function unpinVarIntCache(): Promise<boolean> {
  type Numbers = { genBufVariableByteInt?: ((n: number) => Buffer) & { aeonUnpinned?: true } };
  let numbers: Numbers;
  try {
    numbers = ((await import('mqtt-packet/numbers.js')) as { default: Numbers }).default;
  } catch {
    return false;
  }
  const make = numbers.genBufVariableByteInt;
  if (typeof make !== 'function') return false;
  if (make.aeonUnpinned) return true;
  const own = (n: number): Buffer => {
    const pooled = make(n);
    const b = Buffer.alloc(pooled.length); // never from the pool
    pooled.copy(b);
    return b;
  };
  numbers.genBufVariableByteInt = Object.assign(own, { aeonUnpinned: true as const });
  return true;
}

/** Loads what `url` needs; the returned function creates (and starts connecting) the client. Throws for a URL it cannot use. */
export async function loadClientFactory(url: string, env: NodeJS.ProcessEnv = process.env): Promise<ClientFactory> {
  const u = new URL(url);
  const scheme = u.protocol.replace(/:$/, '');
  // Before mqtt.js (and with it mqtt-packet's writer) loads.
  await unpinVarIntCache();
  if ((scheme !== 'mqtt' && scheme !== 'mqtts') || env.MQTTJS_SOCKS_PROXY) {
    const { connect } = await import('mqtt');
    return (opts) => connect(url, { ...opts, writeCache: false });
  }
  // The package's CommonJS module.exports is the ES module namespace's default; its `default` is the class.
  const mod = (await import('mqtt/lib/client')) as unknown as { default: { default: typeof MqttClient } };
  const Client = mod.default.default;
  return (given) => {
    const opts: IClientOptions = { ...given, writeCache: false };
    // As mqtt.connect: credentials and ?clientId= in the URL win, a client certificate makes mqtt:// mqtts://.
    if (u.username) opts.username = decodeURIComponent(u.username);
    if (u.password) opts.password = decodeURIComponent(u.password);
    const clientId = u.searchParams.get('clientId');
    if (clientId) opts.clientId = clientId;
    const secure = scheme === 'mqtts' || (opts.cert !== undefined && opts.key !== undefined);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
    const port = u.port ? Number(u.port) : secure ? 8883 : 1883;
    Object.assign(opts, { protocol: secure ? 'mqtts' : 'mqtt', host, hostname: host, port });
    const net = process.getBuiltinModule('node:net') as typeof Net;
    const build = secure
      ? (client: MqttClient) => tlsStream(client, net, host, port, opts)
      : () => net.createConnection({ host, port });
    return new Client(build, opts);
  };
}

/** mqtt.js's TLS stream builder, minus socks: SNI for a host name, an unauthorised peer is an error. */
function tlsStream(client: MqttClient, net: typeof Net, host: string, port: number, o: IClientOptions): Tls.TLSSocket {
  const tls = process.getBuiltinModule('node:tls') as typeof Tls;
  const rejectUnauthorized = o.rejectUnauthorized !== false;
  const s = tls.connect({
    host,
    port,
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
    rejectUnauthorized,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    ...(o.cert !== undefined ? { cert: o.cert } : {}),
    ...(o.key !== undefined ? { key: o.key } : {}),
  });
  const onError = (err: Error) => {
    if (rejectUnauthorized) client.emit('error', err);
    s.end();
  };
  s.on('error', onError);
  s.on('secureConnect', () => {
    if (rejectUnauthorized && !s.authorized) s.emit('error', new Error('TLS not authorized'));
    else s.removeListener('error', onError);
  });
  return s;
}
