import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HealthServer, type ReadyCheck } from '../../src/device/health-server.ts';
import { LoopMonitor } from '../../src/device/loop-monitor.ts';
import { Metrics } from '../../src/device/metrics.ts';
import { registerProcessMetrics } from '../../src/device/process-metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { parseProm, sample } from './helpers/prom.ts';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: opts.host ?? '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends raw bytes and returns the status line of the answer (or '' when the server just closed). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', () => resolve(got.split('\r\n')[0]!));
    sock.on('close', () => resolve(got.split('\r\n')[0]!));
    sock.write(bytes);
    setTimeout(() => sock.end(), 200);
  });
}

describe('HealthServer on loopback', () => {
  const metrics = new Metrics();
  const loop = new LoopMonitor();
  let checks: Record<string, ReadyCheck> = {};
  let readyThrows = false;
  let server: HealthServer;
  let port = 0;

  before(async () => {
    loop.start();
    registerProcessMetrics(metrics, loop);
    metrics.counter('aeon_turns_total', 'Turns.', ['result']).inc({ result: 'ok' }, 3);
    server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
      metrics,
      loop,
      ready: () => {
        if (readyThrows) throw new Error('store probe exploded');
        return checks;
      },
      status: () => ({ version: '0.1.0', board: 'pi-zero-2w', dialogs: { mqtt: { ready: true, state: 'connected' } }, last_llm_error: null }),
    });
    port = (await server.start()).port;
  });
  after(async () => {
    await server.stop();
    loop.stop();
  });

  it('binds the port it was given (0 picks one) and answers /healthz', async () => {
    assert.ok(port > 0);
    assert.equal(server.port, port);
    const r = await request(port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).ok, true);
    assert.match(r.headers['content-type']!, /^application\/json/);
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  it('/readyz is 200 only when every check passes, else 503 naming the part and why', async () => {
    checks = { store: { ready: true }, telegram: { ready: true }, mqtt: { ready: true }, llm: { ready: true } };
    let r = await request(port, '/readyz');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).ready, true);

    checks = { ...checks, mqtt: { ready: false, detail: 'broker unreachable: connection refused' } };
    r = await request(port, '/readyz');
    assert.equal(r.status, 503);
    const body = JSON.parse(r.body);
    assert.equal(body.ready, false);
    assert.deepEqual(body.checks.mqtt, { ready: false, detail: 'broker unreachable: connection refused' });
    assert.equal(body.checks.store.ready, true);
  });

  it('/metrics is Prometheus text 0.0.4 with process and aeon metrics', async () => {
    const r = await request(port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const f = parseProm(r.body);
    assert.equal(f.get('process_resident_memory_bytes')!.type, 'gauge');
    assert.ok(sample(f, 'process_resident_memory_bytes')! > 1e6);
    assert.equal(f.get('aeon_turns_total')!.type, 'counter');
    assert.equal(sample(f, 'aeon_turns_total', { result: 'ok' }), 3);
    // The server counts its own requests; the /readyz calls above are in there.
    assert.ok(sample(f, 'aeon_http_requests_total', { path: '/healthz', code: '200' })! >= 1);
    assert.ok(f.has('nodejs_eventloop_lag_p99_seconds'));
  });

  it('/status is JSON with the injected facts, process facts and metrics', async () => {
    const r = await request(port, '/status');
    assert.equal(r.status, 200);
    const s = JSON.parse(r.body);
    assert.equal(s.version, '0.1.0');
    assert.equal(s.board, 'pi-zero-2w');
    assert.equal(s.dialogs.mqtt.state, 'connected');
    assert.ok(s.process.rss_bytes > 0);
    assert.ok(s.process.heap_limit_bytes > 0);
    assert.equal(typeof s.process.event_loop_lag_ms.p99, 'number');
    assert.deepEqual(s.metrics.aeon_turns_total, [{ labels: { result: 'ok' }, value: 3 }]);
  });

  it('HEAD gives the headers without a body', async () => {
    const r = await request(port, '/status', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
    assert.ok(Number(r.headers['content-length']) > 10);
  });

  it('answers unknown paths 404, other methods 405 with Allow', async () => {
    assert.equal((await request(port, '/nope')).status, 404);
    assert.equal((await request(port, '/healthz/')).status, 404);
    const r = await request(port, '/metrics', { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    assert.equal((await request(port, '/readyz', { method: 'OPTIONS' })).status, 405);
  });

  it('ignores the query string', async () => {
    assert.equal((await request(port, '/healthz?x=1')).status, 200);
  });

  it('refuses request bodies (413), huge URLs (414) and huge headers (431)', async () => {
    assert.equal((await request(port, '/healthz', { method: 'POST', body: 'x'.repeat(5000) })).status, 413);
    const chunked = await raw(port, `POST /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n${'y'.repeat(4096)}\r\n0\r\n\r\n`);
    assert.equal(chunked, 'HTTP/1.1 413 Payload Too Large');
    assert.equal((await request(port, `/healthz?${'a'.repeat(4000)}`)).status, 414);
    assert.equal((await request(port, '/healthz', { headers: { 'x-big': 'b'.repeat(20_000) } })).status, 431);
  });

  it('survives garbage and half requests', async () => {
    assert.equal(await raw(port, 'this is not http\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
    assert.equal(await raw(port, Buffer.from([0, 1, 2, 255, 13, 10, 13, 10])), 'HTTP/1.1 400 Bad Request');
    assert.equal(await raw(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
    await raw(port, 'GET /hea');
    assert.equal((await request(port, '/healthz')).status, 200, 'still serving');
  });

  it('a readiness callback that throws reads as 503, not a crash', async () => {
    readyThrows = true;
    const r = await request(port, '/readyz');
    readyThrows = false;
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.body).error, /readiness check failed: store probe exploded/);
    assert.equal((await request(port, '/healthz')).status, 200);
  });
});

describe('HealthServer off loopback', () => {
  const token = 'test-token-0123456789abcdef';

  it('refuses to start off loopback without a token', async () => {
    const s = new HealthServer({ host: '0.0.0.0', port: 0, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    await assert.rejects(s.start(), /not loopback, so server\.token is required/);
    const short = new HealthServer({ host: '0.0.0.0', port: 0, token: 'short', log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    await assert.rejects(short.start(), /at least 16/);
  });

  it('requires the bearer token for everything but /healthz', async () => {
    // Bound on all interfaces (not loopback for the config), reached through 127.0.0.1.
    const s = new HealthServer({ host: '0.0.0.0', port: 0, token, log: silentLogger(), metrics: new Metrics(), ready: () => ({ store: { ready: true } }), status: () => ({ version: 'x' }) });
    const { port } = await s.start();
    try {
      assert.equal((await request(port, '/healthz')).status, 200);
      for (const p of ['/readyz', '/metrics', '/status']) {
        const r = await request(port, p);
        assert.equal(r.status, 401, p);
        assert.equal(r.headers['www-authenticate'], 'Bearer realm="aeon"');
        assert.equal((await request(port, p, { headers: { authorization: `Bearer ${token}x` } })).status, 401);
        assert.equal((await request(port, p, { headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).status, 401);
        assert.equal((await request(port, p, { headers: { authorization: token } })).status, 401);
        assert.equal((await request(port, p, { headers: { authorization: `Bearer ${token}` } })).status, 200, p);
      }
      assert.equal((await request(port, '/status', { headers: { authorization: `bearer ${token}` } })).status, 200, 'scheme is case-insensitive');
    } finally {
      await s.stop();
    }
  });

  it('also checks a token configured on loopback', async () => {
    const s = new HealthServer({ host: '127.0.0.1', port: 0, token, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    const { port } = await s.start();
    try {
      assert.equal((await request(port, '/metrics')).status, 401);
      assert.equal((await request(port, '/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 200);
    } finally {
      await s.stop();
    }
  });

  it('drops a connection that never finishes its headers (slowloris) within the headers timeout', async () => {
    const s = new HealthServer({ host: '127.0.0.1', port: 0, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}), limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const { port } = await s.start();
    try {
      const t0 = Date.now();
      const line = await new Promise<string>((resolve) => {
        const sock = net.connect(port, '127.0.0.1');
        let got = '';
        sock.on('data', (d) => (got += d.toString('latin1')));
        sock.on('close', () => resolve(got.split('\r\n')[0]!));
        sock.on('error', () => undefined);
        sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      });
      const took = Date.now() - t0;
      assert.equal(line, 'HTTP/1.1 408 Request Timeout');
      assert.ok(took < 3000, `closed after ${took} ms`);
    } finally {
      await s.stop();
    }
  });

  it('reports a taken port clearly', async () => {
    const a = new HealthServer({ host: '127.0.0.1', port: 0, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    const { port } = await a.start();
    const b = new HealthServer({ host: '127.0.0.1', port, log: silentLogger(), metrics: new Metrics(), ready: () => ({}), status: () => ({}) });
    try {
      await assert.rejects(b.start(), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally {
      await a.stop();
    }
  });
});
