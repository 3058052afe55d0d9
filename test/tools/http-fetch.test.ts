import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { httpFetchTool, type HttpFetchArgs } from '../../src/tools/http-fetch.ts';
import { blockedReason } from '../../src/tools/net-guard.ts';
import { ctx } from './util.ts';

interface Server {
  url: string;
  port: number;
  hits: http.IncomingMessage[];
}

/** A real loopback server; `routes` by path. Every request is recorded. */
async function serve(host: string, routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>): Promise<Server> {
  const hits: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req);
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route) route(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, port, hits };
}

const cfg = (o: { allow_private?: boolean; max_bytes?: number; timeout_s?: number } = {}) => ({ allow_private: false, max_bytes: 1 << 20, timeout_s: 5, ...o });
const fetchWith = (tool: ReturnType<typeof httpFetchTool>, a: Partial<HttpFetchArgs> & { url: string }) => tool.execute({ method: 'GET', ...a }, ctx());

test('private, loopback and link-local targets are refused before any request is sent', async () => {
  const srv = await serve('127.0.0.1', { '/': (_q, s) => s.end('you should not see this') });
  const tool = httpFetchTool(cfg());
  const cases: Array<[string, RegExp]> = [
    [`http://127.0.0.1:${srv.port}/`, /127\.0\.0\.1 is a loopback address/],
    [`http://localhost:${srv.port}/`, /localhost \((127\.0\.0\.1|::1)\) is a loopback address/],
    [`http://[::1]:${srv.port}/`, /::1 is a loopback address/],
    [`http://[::ffff:127.0.0.1]:${srv.port}/`, /is a loopback address \(IPv4-mapped\)/],
    [`http://2130706433:${srv.port}/`, /127\.0\.0\.1 is a loopback address/],
    ['http://10.0.0.1/', /10\.0\.0\.1 is a private address/],
    ['http://192.168.1.1/admin', /is a private address/],
    ['http://169.254.169.254/latest/meta-data/', /is a link-local address/],
    ['http://[fd12::1]/', /unique-local/],
    ['http://0.0.0.0:80/', /"this network"/],
  ];
  for (const [url, why] of cases) {
    const err: Error = await fetchWith(tool, { url }).then(() => assert.fail(`${url} was fetched`), (e: Error) => e);
    assert.match(err.message, /^Refused: /, url);
    assert.match(err.message, why, url);
    assert.match(err.message, /tools\.http_fetch\.allow_private/);
  }
  assert.equal(srv.hits.length, 0, 'no request reached the server');
});

test('with allow_private a loopback server is fetched: status, content type, JSON as is', async () => {
  const srv = await serve('127.0.0.1', {
    '/data': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, ua: req.headers['user-agent'], h: req.headers['x-test'] })),
    '/gone': (_q, res) => res.writeHead(410, { 'content-type': 'text/plain' }).end('gone for good'),
  });
  const tool = httpFetchTool(cfg({ allow_private: true }));
  const out = await fetchWith(tool, { url: `${srv.url}/data`, headers: { 'X-Test': 'yes' } });
  const [head, , body] = out.split('\n');
  assert.equal(head, `HTTP 200 OK · application/json · 48 bytes · ${srv.url}/data`);
  assert.deepEqual(JSON.parse(body!), { ok: true, ua: 'aeon-http-fetch/0.1', h: 'yes' });
  assert.match(await fetchWith(tool, { url: `${srv.url}/gone` }), /^HTTP 410 Gone · text\/plain · 13 bytes · .*\n\ngone for good$/);
});

test('POST sends the body; a 303 answer is followed with GET', async () => {
  let posted = '';
  const srv = await serve('127.0.0.1', {
    '/form': (req, res) => {
      req.setEncoding('utf8');
      req.on('data', (c: string) => (posted += c));
      req.on('end', () => res.writeHead(303, { location: '/done' }).end());
    },
    '/done': (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`method ${req.method}`),
  });
  const tool = httpFetchTool(cfg({ allow_private: true }));
  const out = await fetchWith(tool, { url: `${srv.url}/form`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  assert.equal(posted, '{"a":1}');
  assert.match(out, /\n\nmethod GET$/);
  assert.match(out, /· http:\/\/127\.0\.0\.1:\d+\/done\n/, 'names the final URL');
});

test('redirects are followed, and credentials are not carried to another origin', async () => {
  const other = await serve('127.0.0.1', { '/land': (req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`auth=${req.headers.authorization ?? 'none'}`) });
  const srv = await serve('127.0.0.1', {
    '/a': (_q, res) => res.writeHead(302, { location: '/b' }).end(),
    '/b': (req, res) => res.writeHead(301, { location: `${other.url}/land?from=${req.headers.authorization ? 'auth' : 'none'}` }).end(),
  });
  const tool = httpFetchTool(cfg({ allow_private: true }));
  const out = await fetchWith(tool, { url: `${srv.url}/a`, headers: { authorization: 'Bearer abc' } });
  assert.match(out, /\n\nauth=none$/);
  assert.match(out, /from=auth/, 'the same origin still got it');
  assert.equal(srv.hits.length, 2);
});

test('every redirect hop is checked again: a public page cannot bounce the fetch into the LAN', async () => {
  // Stand-in for "public": only 127.0.0.1 counts as public here; 127.0.0.2 is loopback as usual.
  const policy = (ip: string) => (ip === '127.0.0.1' ? null : blockedReason(ip));
  const inner = await serve('127.0.0.2', { '/admin': (_q, res) => res.end('router admin') });
  const outer = await serve('127.0.0.1', {
    '/go': (_q, res) => res.writeHead(302, { location: `${inner.url}/admin` }).end(),
    '/ok': (_q, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('public page'),
  });
  const tool = httpFetchTool(cfg(), { policy });
  assert.match(await fetchWith(tool, { url: `${outer.url}/ok` }), /public page$/);
  await assert.rejects(fetchWith(tool, { url: `${outer.url}/go` }), /^Error: Refused: 127\.0\.0\.2 is a loopback address/);
  assert.equal(inner.hits.length, 0);
  assert.equal(outer.hits.length, 2);
});

test('redirect loops stop after 5 hops', async () => {
  const srv = await serve('127.0.0.1', { '/loop': (req, res) => res.writeHead(302, { location: `/loop?n=${Number(new URL(req.url!, 'http://x').searchParams.get('n') ?? 0) + 1}` }).end() });
  const tool = httpFetchTool(cfg({ allow_private: true }));
  await assert.rejects(fetchWith(tool, { url: `${srv.url}/loop` }), /Stopped after 5 redirects/);
  assert.equal(srv.hits.length, 6);
});

test('bodies are read up to max_bytes and no further', async () => {
  let sent = 0;
  const srv = await serve('127.0.0.1', {
    '/big': (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      // An endless body: the fetch must stop reading on its own.
      const write = () => {
        while (sent < 50 << 20 && res.write('ü'.repeat(8192))) sent += 16384;
        if (sent < 50 << 20 && !res.destroyed) res.once('drain', write);
      };
      write();
    },
  });
  const tool = httpFetchTool(cfg({ allow_private: true, max_bytes: 2049 }));
  const out = await fetchWith(tool, { url: `${srv.url}/big` });
  const [head, , body] = out.split('\n');
  assert.match(head!, /^HTTP 200 OK · text\/plain; charset=utf-8 · 2,049 bytes \(cut at max_bytes 2,049; the rest was not read\)/);
  assert.equal(body, 'ü'.repeat(1024), 'the split last character is dropped, not garbled');
  assert.ok(sent < 10 << 20, `server wrote ${sent} bytes`);
});

test('HTML comes back as readable text with its title', async () => {
  const page = `<!doctype html><html><head><title>Weather &amp; more</title><style>body{color:red}</style>
    <script>alert("x")</script></head><body><h1>Berlin</h1><p>Sunny,&nbsp;24&deg;C</p><ul><li>Wind 5 km/h</li><li>Rain 0%</li></ul></body></html>`;
  const srv = await serve('127.0.0.1', { '/': (_q, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page) });
  const out = await fetchWith(httpFetchTool(cfg({ allow_private: true })), { url: `${srv.url}/` });
  assert.equal(out.slice(out.indexOf('\n') + 1), 'title: Weather & more\n\nBerlin\n\nSunny, 24°C\n\n- Wind 5 km/h\n- Rain 0%');
});

test('binary bodies are not shown', async () => {
  const srv = await serve('127.0.0.1', { '/img': (_q, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2])) });
  const out = await fetchWith(httpFetchTool(cfg({ allow_private: true })), { url: `${srv.url}/img` });
  assert.match(out, /^HTTP 200 OK · image\/png · 7 bytes · .*\n\[binary content, not shown\]$/);
});

test('a server that never answers times out with a clear message', async () => {
  const srv = await serve('127.0.0.1', { '/hang': () => {} });
  const t0 = Date.now();
  await assert.rejects(fetchWith(httpFetchTool(cfg({ allow_private: true, timeout_s: 1 })), { url: `${srv.url}/hang` }), /did not answer within 1 s/);
  assert.ok(Date.now() - t0 < 4000);
});

test('only http and https, no credentials in the URL, no reserved headers, body only with POST', async () => {
  const tool = httpFetchTool(cfg({ allow_private: true }));
  await assert.rejects(fetchWith(tool, { url: 'file:///etc/passwd' }), /Only http:\/\/ and https:\/\//);
  await assert.rejects(fetchWith(tool, { url: 'http://user:pw@127.0.0.1/' }), /user name or password/);
  await assert.rejects(fetchWith(tool, { url: 'http://127.0.0.1/', headers: { Host: 'evil' } }), /"Host" header is set by http_fetch/);
  await assert.rejects(fetchWith(tool, { url: 'http://127.0.0.1/', body: 'x' }), /only with method "POST"/);
});

test('the address policy covers IPv4, IPv6 and IPv4 embedded in IPv6', () => {
  const blocked = ['127.0.0.1', '10.9.8.7', '172.16.0.1', '192.168.0.10', '169.254.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.251', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:10.0.0.1', '::ffff:a00:1', '64:ff9b::c0a8:101', '2002:c0a8:101::1'];
  const open = ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'];
  for (const ip of blocked) assert.ok(blockedReason(ip), `${ip} should be blocked`);
  for (const ip of open) assert.equal(blockedReason(ip), null, `${ip} should be allowed`);
});
