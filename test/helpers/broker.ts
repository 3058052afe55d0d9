// A real MQTT broker for tests: Mosquitto when it is installed (its own
// instance on a free loopback port, generated config, persistence off),
// otherwise aedes in this process. Both can be stopped and started again on the
// same port, which is how the broker-restart tests take the broker away.
//
// CI must exercise Mosquitto: with CI set and no mosquitto binary this throws.
// AEON_TEST_BROKER=aedes forces the in-process broker (to try the fallback).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export type BrokerKind = 'mosquitto' | 'aedes';

export interface TestBroker {
  readonly kind: BrokerKind;
  /** aedes speaks MQTT 3.1.1 only. */
  readonly mqtt5: boolean;
  readonly port: number;
  readonly url: string;
  /** `mqtts://127.0.0.1:<port>` when started with `tls`. */
  readonly tlsUrl?: string;
  /** Takes the broker away (clients see their sockets close); the port is freed. */
  stop(): Promise<void>;
  /** Brings it back on the same port, with no retained messages or sessions. */
  start(): Promise<void>;
  /** Stops for good and removes temporary files. */
  close(): Promise<void>;
}

/** The mosquitto binary, or undefined. Debian installs it in /usr/sbin, often not on a user's PATH. */
export function findMosquitto(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MOSQUITTO) return fs.existsSync(env.MOSQUITTO) ? env.MOSQUITTO : undefined;
  const dirs = [...(env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, 'mosquitto');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

export interface BrokerOptions {
  env?: NodeJS.ProcessEnv;
  /**
   * Mosquitto `set_tcp_nodelay true`. Its default (false) leaves Nagle on, so a
   * small message behind an unacknowledged one waits for the delayed ACK
   * (~40 ms on Linux); the benchmark turns it off to measure aeon, not that.
   */
  tcpNoDelay?: boolean;
  /** Also listen with TLS (PEM file paths); `requireClientCert` makes clients show a certificate signed by `ca`. */
  tls?: TlsFiles;
}

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
  requireClientCert?: boolean;
}

export async function startBroker(opts: BrokerOptions = {}): Promise<TestBroker> {
  const env = opts.env ?? process.env;
  const forced = env.AEON_TEST_BROKER;
  const bin = forced === 'aedes' ? undefined : findMosquitto(env);
  if (!bin) {
    if (env.CI && forced !== 'aedes') {
      throw new Error('CI is set but mosquitto is not installed: CI must run the MQTT tests against Mosquitto (apt-get install -y mosquitto)');
    }
    if (forced === 'mosquitto') throw new Error('AEON_TEST_BROKER=mosquitto but no mosquitto binary was found');
  }
  const port = await freePort();
  const tls = opts.tls ? { ...opts.tls, port: await freePort() } : undefined;
  const broker = bin ? new MosquittoBroker(bin, port, opts.tcpNoDelay ?? false, tls) : new AedesBroker(port, tls);
  await broker.start();
  return broker;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

class MosquittoBroker implements TestBroker {
  readonly kind = 'mosquitto' as const;
  readonly mqtt5 = true;
  readonly port: number;
  readonly url: string;
  readonly tlsUrl?: string;
  readonly #bin: string;
  readonly #dir: string;
  #proc: ChildProcess | undefined;
  #stderr = '';

  constructor(bin: string, port: number, tcpNoDelay: boolean, tls?: TlsFiles & { port: number }) {
    this.#bin = bin;
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    if (tls) this.tlsUrl = `mqtts://127.0.0.1:${tls.port}`;
    this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-mosquitto-'));
    fs.chmodSync(this.#dir, 0o755);
    const conf = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'max_queued_messages 10000',
      `set_tcp_nodelay ${tcpNoDelay}`,
      ...(tls
        ? [`listener ${tls.port} 127.0.0.1`, `cafile ${tls.ca}`, `certfile ${tls.cert}`, `keyfile ${tls.key}`, `require_certificate ${tls.requireClientCert ?? false}`]
        : []),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(this.#dir, 'mosquitto.conf'), conf, { mode: 0o644 });
  }

  async start(): Promise<void> {
    if (this.#proc) return;
    this.#stderr = '';
    const proc = spawn(this.#bin, ['-c', path.join(this.#dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      if (this.#stderr.length < 16_384) this.#stderr += d;
    });
    this.#proc = proc;
    let exited = false;
    proc.once('exit', () => {
      exited = true;
      if (this.#proc === proc) this.#proc = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (exited) throw new Error(`mosquitto exited at start: ${this.#stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${this.port} within 10 s: ${this.#stderr.trim()}`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    this.#proc = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
  }

  async close(): Promise<void> {
    await this.stop();
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

interface AedesLike {
  close(cb?: () => void): void;
}

class AedesBroker implements TestBroker {
  readonly kind = 'aedes' as const;
  readonly mqtt5 = false;
  readonly port: number;
  readonly url: string;
  readonly tlsUrl?: string;
  readonly #tls: (TlsFiles & { port: number }) | undefined;
  #server: net.Server | undefined;
  #tlsServer: net.Server | undefined;
  #broker: AedesLike | undefined;
  readonly #sockets = new Set<net.Socket>();

  constructor(port: number, tls?: TlsFiles & { port: number }) {
    this.port = port;
    this.url = `mqtt://127.0.0.1:${port}`;
    this.#tls = tls;
    if (tls) this.tlsUrl = `mqtts://127.0.0.1:${tls.port}`;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    // aedes' .d.ts re-exports without file extensions, which nodenext cannot follow.
    const { Aedes } = (await import('aedes')) as unknown as { Aedes: { createBroker(): Promise<AedesLike & { handle(s: net.Socket): unknown }> } };
    const broker = await Aedes.createBroker();
    const onSocket = (s: net.Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
      broker.handle(s);
    };
    const server = net.createServer(onSocket);
    await listen(server, this.port);
    this.#broker = broker;
    this.#server = server;
    const t = this.#tls;
    if (t) {
      const read = (f: string) => fs.readFileSync(f);
      const opts = { ca: read(t.ca), cert: read(t.cert), key: read(t.key), requestCert: t.requireClientCert ?? false, rejectUnauthorized: t.requireClientCert ?? false };
      const tlsServer = tls.createServer(opts, onSocket);
      await listen(tlsServer, t.port);
      this.#tlsServer = tlsServer;
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    const broker = this.#broker;
    if (!server || !broker) return;
    const tlsServer = this.#tlsServer;
    this.#server = undefined;
    this.#tlsServer = undefined;
    this.#broker = undefined;
    const closed = Promise.all([server, ...(tlsServer ? [tlsServer] : [])].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await closed;
  }

  async close(): Promise<void> {
    await this.stop();
  }
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
