// `aeon doctor` against real loopback peers: an LLM server and a Telegram API
// that answer, a broker that listens, and ports where nothing listens.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.ts';
import { formatDoctor, runDoctor, type DoctorOptions } from '../../src/device/doctor.ts';

const TOKEN = '123456789:AAtest-token-abcdefghijklmnopqrstu';
const KEY = 'sk-test-key-1234567890';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('doctor', () => {
  let api: http.Server;
  let broker: net.Server;
  let apiPort = 0;
  let brokerPort = 0;
  let downPort = 0;
  const seen: Array<{ url: string; auth?: string }> = [];
  let dataDir = '';

  before(async () => {
    api = http.createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      if (req.url === '/v1/models') {
        const ok = req.headers.authorization === `Bearer ${KEY}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"data":[]}' : '{"error":"bad key"}');
      } else if (req.url === `/bot${TOKEN}/getMe`) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"result":{"id":1,"is_bot":true,"username":"aeon_test_bot"}}');
      } else if (req.url?.startsWith('/bot')) {
        res.writeHead(401).end('{"ok":false,"error_code":401,"description":"Unauthorized"}');
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiPort = (api.address() as net.AddressInfo).port;
    broker = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
    brokerPort = (broker.address() as net.AddressInfo).port;
    downPort = await freePort();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-doctor-'));
  });
  after(async () => {
    await new Promise((r) => api.close(r));
    await new Promise((r) => broker.close(r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function config(o: { llmPort: number; key?: string; fallbackPort?: number; brokerPort?: number; telegramPort?: number; token?: string }) {
    const agent: Record<string, unknown> = { provider: 'openai-compatible', model: 'm', base_url: `http://127.0.0.1:${o.llmPort}/v1`, api_key: o.key ?? KEY };
    if (o.fallbackPort) agent.fallbacks = [{ provider: 'ollama', model: 'llama3.2', base_url: `http://127.0.0.1:${o.fallbackPort}/v1` }];
    const text = JSON.stringify({
      device: { board: 'pi-zero-2w', data_dir: dataDir },
      agents: { main: agent },
      dialogs: {
        mqtt: o.brokerPort ? { enabled: true, url: `mqtt://127.0.0.1:${o.brokerPort}` } : { enabled: false },
        telegram: o.telegramPort ? { enabled: true, bot_token: o.token ?? TOKEN, api_root: `http://127.0.0.1:${o.telegramPort}` } : { enabled: false },
      },
    });
    return parseConfig(text, path.join(dataDir, 'aeon.json'), { env: {} }).config;
  }

  const machine: Partial<DoctorOptions> = {
    totalMemBytes: 427 * 1048576, // what a Pi Zero 2 W reports
    arch: 'arm64',
    clockSynced: async () => true,
    statfs: async () => ({ bavail: 2000, bsize: 1048576 }),
    timeoutMs: 1500,
  };

  it('says ok for reachable peers and fail for a dead one, one line each, exit 1', async () => {
    const r = await runDoctor({ ...machine, config: config({ llmPort: apiPort, fallbackPort: downPort, brokerPort, telegramPort: apiPort }) });
    const by = Object.fromEntries(r.checks.map((c) => [c.what, c]));
    assert.equal(by['llm main']!.verdict, 'ok', by['llm main']!.detail);
    assert.equal(by['llm main fallback 1']!.verdict, 'fail');
    assert.match(by['llm main fallback 1']!.detail, /connection refused/);
    assert.equal(by['mqtt broker']!.verdict, 'ok');
    assert.equal(by.telegram!.verdict, 'ok');
    assert.match(by.telegram!.detail, /as @aeon_test_bot/);
    assert.equal(r.exitCode, 1);
    // The fallback to another provider does not receive the agent's key.
    assert.ok(seen.some((s) => s.url === '/v1/models' && s.auth === `Bearer ${KEY}`));

    const text = formatDoctor(r);
    assert.equal(text.trim().split('\n').length, r.checks.length);
    for (const line of text.trim().split('\n')) assert.match(line, /^(ok  |warn|fail)  \S/);
    assert.ok(!text.includes(TOKEN) && !text.includes(KEY), 'no secret in the report');
  });

  it('exits 0 when everything is reachable', async () => {
    const r = await runDoctor({ ...machine, config: config({ llmPort: apiPort, brokerPort, telegramPort: apiPort }) });
    assert.deepEqual(r.checks.filter((c) => c.verdict === 'fail'), []);
    assert.equal(r.exitCode, 0);
  });

  it('fails a down broker, a rejected API key and a rejected bot token', async () => {
    const r = await runDoctor({ ...machine, config: config({ llmPort: apiPort, key: 'sk-wrong-key-000000', brokerPort: downPort, telegramPort: apiPort, token: '987654321:AAwrong-token-abcdefghijklmnopq' }) });
    const by = Object.fromEntries(r.checks.map((c) => [c.what, c]));
    assert.equal(by['mqtt broker']!.verdict, 'fail');
    assert.match(by['mqtt broker']!.detail, new RegExp(`127\\.0\\.0\\.1:${downPort} unreachable`));
    assert.equal(by['llm main']!.verdict, 'fail');
    assert.match(by['llm main']!.detail, /rejected the API key \(HTTP 401\)/);
    assert.equal(by.telegram!.verdict, 'fail');
    assert.match(by.telegram!.detail, /rejected the bot token/);
    assert.ok(!formatDoctor(r).includes('AAwrong-token'));
  });

  it('gives up on a peer that never answers within the timeout', async () => {
    const silent = net.createServer(() => undefined); // accepts, never speaks HTTP
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const r = await runDoctor({ ...machine, timeoutMs: 300, config: config({ llmPort: port }) });
    silent.close();
    const llm = r.checks.find((c) => c.what === 'llm main')!;
    assert.equal(llm.verdict, 'fail');
    assert.match(llm.detail, /no answer within 300 ms/);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('compares the board budget with the machine: RAM, disk, temperature, clock', async () => {
    const thermal = path.join(dataDir, 'temp');
    fs.writeFileSync(thermal, '83500\n');
    const r = await runDoctor({
      ...machine,
      config: config({ llmPort: apiPort }),
      totalMemBytes: 200 * 1048576,
      statfs: async () => ({ bavail: 50, bsize: 1048576 }),
      thermalPath: thermal,
      clockSynced: async () => false,
      arch: 'x64',
    });
    const by = Object.fromEntries(r.checks.map((c) => [c.what, c]));
    assert.equal(by.board!.verdict, 'warn');
    assert.match(by.board!.detail, /this machine is x64/);
    assert.equal(by.memory!.verdict, 'warn');
    assert.equal(by['memory budget']!.verdict, 'fail', 'MemoryMax 192 MB on a 200 MB machine');
    assert.equal(by.disk!.verdict, 'fail');
    assert.match(by.disk!.detail, /50 MB free/);
    assert.equal(by.temperature!.verdict, 'fail');
    assert.match(by.temperature!.detail, /83\.5 °C/);
    assert.equal(by.clock!.verdict, 'warn');
    assert.equal(by['data dir']!.verdict, 'ok');

    const fine = await runDoctor({ ...machine, config: config({ llmPort: apiPort }), thermalPath: path.join(dataDir, 'none') });
    const f = Object.fromEntries(fine.checks.map((c) => [c.what, c]));
    assert.equal(f.memory!.verdict, 'ok', 'a Pi Zero 2 W reporting 427 MB fits its 512 MB profile');
    assert.equal(f['memory budget']!.verdict, 'ok');
    assert.equal(f.temperature!.detail, 'no thermal sensor here');
    assert.equal(f.disk!.verdict, 'ok');
  });
});
