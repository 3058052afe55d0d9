// The local HTTP endpoint (node:http, no framework): /healthz (liveness),
// /readyz (readiness, 503 with the reasons), /metrics (Prometheus text 0.0.4),
// /status (JSON for people and scripts). Read-only: GET and HEAD, no request
// bodies. Off loopback a bearer token guards everything except /healthz.
// Every request is bounded (URL, headers, body, time, connections) and no
// input can throw out of a handler.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http, STATUS_CODES } from '../util/node-http.ts';
import type { Socket } from 'node:net';
import { isLoopback } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { LoopMonitor } from './loop-monitor.ts';
import type { Counter, Metrics } from './metrics.ts';
import { processFacts } from './process-metrics.ts';

export interface ReadyCheck {
  ready: boolean;
  /** Why not, in one sentence (broker unreachable, Telegram 409, last LLM error...). */
  detail?: string;
}

export interface HealthLimits {
  /** Longest request target accepted (414 beyond), in bytes. Default 2048. */
  maxUrlBytes: number;
  /** Largest request body tolerated (413 beyond); the endpoints take none. Default 1024. */
  maxBodyBytes: number;
  /** All request headers together (431 beyond), in bytes. Default 16 KiB. */
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxRequestsPerSocket: number;
  maxConnections: number;
}

export const DEFAULT_LIMITS: HealthLimits = {
  maxUrlBytes: 2048,
  maxBodyBytes: 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  maxRequestsPerSocket: 100,
  maxConnections: 32,
};

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `port` after start(). */
  port: number;
  /** Bearer token; required off loopback, and checked wherever it is set. */
  token?: string;
  log: Logger;
  metrics: Metrics;
  /** One entry per part (store, telegram, mqtt, llm...). Must be cheap; a throw reads as not ready. */
  ready: () => Record<string, ReadyCheck>;
  /** Facts for /status (version, board, dialogs, last LLM error...); process facts and metrics are added. */
  status: () => Record<string, unknown>;
  /** Event-loop lag for /status. */
  loop?: LoopMonitor;
  limits?: Partial<HealthLimits>;
}

const PATHS = ['/healthz', '/readyz', '/metrics', '/status'] as const;
type Path = (typeof PATHS)[number];
const ALLOW = 'GET, HEAD';
const MIN_TOKEN_LENGTH = 16;

export class HealthServer {
  readonly #o: HealthServerOptions;
  readonly #limits: HealthLimits;
  #server: Server | undefined;
  #port = 0;
  #requests: Counter | undefined;
  #tokenHash: Buffer | undefined;

  constructor(opts: HealthServerOptions) {
    this.#o = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  /** The bound port (useful with port 0); 0 before start(). */
  get port(): number {
    return this.#port;
  }

  /** Binds and listens. Throws (start-up only) when off loopback without a usable token, or when the port is taken. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.#server) return { host: this.#o.host, port: this.#port };
    const { host, token, log } = this.#o;
    if (!isLoopback(host) && !token) {
      throw new Error(`server.host "${host}" is not loopback, so server.token is required: set a long random token (e.g. \`openssl rand -hex 24\`) or bind to 127.0.0.1`);
    }
    if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new Error(`server.token must be at least ${MIN_TOKEN_LENGTH} characters`);
    this.#tokenHash = token === undefined ? undefined : sha256(token);
    this.#requests = this.#o.metrics.counter('aeon_http_requests_total', 'Requests to the health server by path and status code.', ['path', 'code']);

    const l = this.#limits;
    const server = http.createServer({
      maxHeaderSize: l.maxHeaderBytes,
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      // The timeouts above are only enforced on this tick; Node's default is 30 s.
      connectionsCheckingInterval: 1000,
    });
    server.maxRequestsPerSocket = l.maxRequestsPerSocket;
    server.maxConnections = l.maxConnections;
    server.on('request', (req, res) => this.#onRequest(req, res));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => onClientError(err, socket));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(new Error(`health server cannot listen on ${host}:${this.#o.port}: ${err.message}`));
      server.once('error', fail);
      server.listen(this.#o.port, host, () => {
        server.off('error', fail);
        resolve();
      });
    });
    // After start-up, a socket-level error is logged, never thrown.
    server.on('error', (err) => log.warn({ err }, 'health server error'));
    this.#server = server;
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : this.#o.port;
    log.info({ host, port: this.#port, auth: this.#tokenHash ? 'bearer' : 'none' }, 'health server listening');
    return { host, port: this.#port };
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      const l = this.#limits;
      const url = req.url ?? '/';
      if (Buffer.byteLength(url) > l.maxUrlBytes) return this.#reply(req, res, 'other', 414, { error: `request target longer than ${l.maxUrlBytes} bytes` }, { connection: 'close' });
      const declared = Number(req.headers['content-length'] ?? 0);
      if (!(declared <= l.maxBodyBytes)) return this.#tooLarge(req, res);
      // Drain whatever small body came along before answering; count it, whatever the headers said.
      let seen = 0;
      let refused = false;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > l.maxBodyBytes && !refused) {
          refused = true;
          this.#tooLarge(req, res);
        }
      });
      req.on('error', () => res.destroy());
      req.on('end', () => {
        if (!refused) this.#route(req, res, url);
      });
    } catch (err) {
      this.#internal(req, res, err);
    }
  }

  #route(req: IncomingMessage, res: ServerResponse, url: string): void {
    try {
      const q = url.indexOf('?');
      const pathname = q < 0 ? url : url.slice(0, q);
      const path = (PATHS as readonly string[]).includes(pathname) ? (pathname as Path) : undefined;
      if (!path) return this.#reply(req, res, 'other', 404, { error: 'not found', paths: PATHS });
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.#reply(req, res, path, 405, { error: `method ${req.method} not allowed`, allow: ALLOW }, { allow: ALLOW });
      if (path !== '/healthz' && this.#tokenHash && !this.#authorized(req)) {
        return this.#reply(req, res, path, 401, { error: 'a valid bearer token is required' }, { 'www-authenticate': 'Bearer realm="aeon"' });
      }
      switch (path) {
        case '/healthz':
          // Answering at all proves the event loop runs.
          return this.#reply(req, res, path, 200, { ok: true, uptime_s: Math.round(process.uptime()) });
        case '/readyz':
          return this.#readyz(req, res);
        case '/metrics':
          return this.#send(req, res, path, 200, this.#o.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
        case '/status':
          return this.#reply(req, res, path, 200, { ...this.#o.status(), process: processFacts(this.#o.loop), metrics: this.#o.metrics.snapshot() });
      }
    } catch (err) {
      this.#internal(req, res, err);
    }
  }

  #readyz(req: IncomingMessage, res: ServerResponse): void {
    let checks: Record<string, ReadyCheck>;
    let ready: boolean;
    try {
      checks = this.#o.ready();
      ready = Object.values(checks).every((c) => c.ready === true);
    } catch (err) {
      return this.#reply(req, res, '/readyz', 503, { ready: false, error: `readiness check failed: ${(err as Error).message}`, checks: {} });
    }
    this.#reply(req, res, '/readyz', ready ? 200 : 503, { ready, checks });
  }

  #authorized(req: IncomingMessage): boolean {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    if (!m) return false;
    // Equal-length digests compared in constant time: neither the content nor the length of the token leaks.
    return crypto().timingSafeEqual(sha256(m[1]!), this.#tokenHash!);
  }

  #tooLarge(req: IncomingMessage, res: ServerResponse): void {
    this.#reply(req, res, 'other', 413, { error: `request bodies are not accepted (limit ${this.#limits.maxBodyBytes} bytes)` }, { connection: 'close' });
    // Stop reading an oversized upload; the response above is already on its way.
    req.once('data', () => undefined);
    res.once('finish', () => req.socket.destroySoon());
  }

  #internal(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    this.#o.log.warn({ err, url: req.url?.slice(0, 200) }, 'health server handler failed');
    if (res.headersSent) res.destroy();
    else this.#reply(req, res, 'other', 500, { error: 'internal error' });
  }

  #reply(req: IncomingMessage, res: ServerResponse, path: string, code: number, body: unknown, headers: Record<string, string> = {}): void {
    this.#send(req, res, path, code, `${JSON.stringify(body)}\n`, 'application/json; charset=utf-8', headers);
  }

  #send(req: IncomingMessage, res: ServerResponse, path: string, code: number, body: string, type: string, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.writableEnded) return;
    this.#requests?.inc({ path, code });
    const buf = Buffer.from(body);
    res.writeHead(code, {
      'content-type': type,
      'content-length': buf.length,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : buf);
  }
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  socket.end(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// node:crypto only when a token is configured: loading it costs ~2 MB of RSS
// (docs/benchmarks.md), and the usual loopback-only server never needs it.
const crypto = () => process.getBuiltinModule('node:crypto');

function sha256(s: string): Buffer {
  return crypto().createHash('sha256').update(s).digest();
}
