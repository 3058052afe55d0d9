// A TCP forwarder on a fixed loopback port that can take the network away, for
// the fault suite. Put it between aeon and a peer (MQTT broker, Telegram API,
// LLM server) and:
//   down()      close the listener and reset every connection: new connections are refused
//   up()        listen again on the same port
//   blackhole() keep every connection open but forward nothing either way (a cable
//               pulled somewhere upstream: no RST, no FIN, just silence); new
//               connections are accepted and go silent too
//   restore()   forward again (connections opened meanwhile stay dead: their
//               handshakes were swallowed)
import net from 'node:net';

export class FaultTcp {
  readonly port: number;
  readonly #target: { host: string; port: number };
  #server: net.Server | undefined;
  readonly #pairs = new Set<{ a: net.Socket; b: net.Socket; dead: boolean }>();
  #holed = false;
  accepted = 0;

  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port;
    this.#target = target;
  }

  /** Listens on a free loopback port (or `port`) and forwards to `target`. */
  static async start(target: { host?: string; port: number }, port = 0): Promise<FaultTcp> {
    const t = { host: target.host ?? '127.0.0.1', port: target.port };
    if (port === 0) port = await freePort();
    const f = new FaultTcp(port, t);
    await f.up();
    return f;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  get isUp(): boolean {
    return this.#server !== undefined;
  }

  async up(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((a) => this.#accept(a));
    // The port was ours a moment ago; a client's TIME_WAIT does not block a listener on Linux.
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    this.#server = server;
  }

  /** Refuses new connections and resets the open ones. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const p of this.#pairs) {
      p.a.resetAndDestroy();
      p.b.destroy();
    }
    this.#pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  blackhole(): void {
    this.#holed = true;
    for (const p of this.#pairs) this.#hole(p);
  }

  restore(): void {
    this.#holed = false;
  }

  async close(): Promise<void> {
    await this.down();
  }

  #accept(a: net.Socket): void {
    this.accepted++;
    const b = net.connect(this.#target.port, this.#target.host);
    const pair = { a, b, dead: false };
    this.#pairs.add(pair);
    const end = () => {
      if (!this.#pairs.delete(pair)) return;
      a.destroy();
      b.destroy();
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
    if (this.#holed) {
      this.#hole(pair);
      return;
    }
    a.pipe(b);
    b.pipe(a);
  }

  /** Stops forwarding on this pair for good: bytes are read and dropped, nothing is closed. */
  #hole(p: { a: net.Socket; b: net.Socket; dead: boolean }): void {
    if (p.dead) return;
    p.dead = true;
    p.a.unpipe(p.b);
    p.b.unpipe(p.a);
    p.a.removeAllListeners('data');
    p.b.removeAllListeners('data');
    p.a.on('data', () => {});
    p.b.on('data', () => {});
    p.a.resume();
    p.b.resume();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
