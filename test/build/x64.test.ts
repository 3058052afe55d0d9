// The x64 binary as a user gets it: built once by build.mjs, then copied alone
// into an empty directory and run there with no node_modules, no node on PATH
// and HOME in a temp dir: version, init/check, ask against a replaying LLM
// server (the turn lands in SQLite under the data dir), run with the health
// server and the baked heap limit, and a tool whose argument schema is not
// precompiled (mqtt_publish) validated by the ajv bundled into the binary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { openaiTextStream, openaiToolCallStream, startReplayServer, type ReplayServer } from '../helpers/sse-replay.ts';
import { exec, native, NODE_VERSION, runBuild, solo, startService, writeConfig, type Solo } from './harness.ts';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('the x64 binary, alone in an empty directory', () => {
  let out: string;
  let s: Solo;
  let llm: ReplayServer;
  const run = (args: string[], o: { env?: NodeJS.ProcessEnv; input?: string } = {}) => exec(native(s.bin), args, { env: { ...s.env, ...o.env }, cwd: s.dir, input: o.input });

  before(
    async () => {
      out = fs.mkdtempSync(path.join(os.tmpdir(), 'aeon-dist-'));
      // xz preset 0: the release preset takes a minute here; the format and the check are the same.
      await runBuild(['--board', 'x64', '--xz', '0'], out);
      s = solo(path.join(out, 'aeon-x64'));
      llm = await startReplayServer({
        script: (req) => {
          const body = req.body as { messages: Array<{ role: string; content: unknown }> };
          return { body: openaiTextStream(`You said: ${String(body.messages.at(-1)!.content)}`) };
        },
      });
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await llm?.close();
    for (const d of [out, s?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  it('build.mjs writes the binary, a checksum file sha256sum accepts, the source map and an xz copy of the same bytes', () => {
    const files = fs.readdirSync(out).sort();
    assert.deepEqual(files, ['aeon-x64', 'aeon-x64.js.map', 'aeon-x64.sha256', 'aeon-x64.xz']);
    const check = spawnSync('sha256sum', ['-c', 'aeon-x64.sha256'], { cwd: out, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /^aeon-x64: OK$/m);
    const unxz = spawnSync('xz', ['-dc', 'aeon-x64.xz'], { cwd: out, maxBuffer: 512 * 1024 * 1024 });
    assert.equal(unxz.status, 0);
    assert.equal(createHash('sha256').update(unxz.stdout).digest('hex'), sha256(path.join(out, 'aeon-x64')));
    const map = JSON.parse(fs.readFileSync(path.join(out, 'aeon-x64.js.map'), 'utf8')) as { sources: string[] };
    assert.ok(map.sources.includes('src/sea.ts') && map.sources.includes('src/main.ts'), 'the map points at the TypeScript sources, relative to the repository');
  });

  it('version: aeon, commit, the baked board, Node and SQLite, with no node anywhere on PATH', async () => {
    const which = spawnSync('/bin/sh', ['-c', 'command -v node'], { env: s.env, encoding: 'utf8' });
    assert.ok(which.status !== 0 && which.stdout === '', `node must not be found on the PATH the binary gets (found ${which.stdout})`);
    const r = await run(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^aeon \d+\.\d+\.\d+$/m);
    assert.match(r.stdout, /^commit ([0-9a-f]{12}(-dirty)?|unknown)$/m);
    assert.match(r.stdout, /^board x64$/m);
    assert.match(r.stdout, new RegExp(`^node ${NODE_VERSION.replace(/\./g, '\\.')} \\(linux-x64\\)$`, 'm'));
    assert.match(r.stdout, /^sqlite 3\.\d+\.\d+$/m);
    assert.equal(r.stderr, '');
    // The addon went to the per-user cache under a name carrying its hash; nothing was written next to the binary.
    const cached = fs.readdirSync(path.join(s.home, '.cache', 'aeon'));
    assert.equal(cached.length, 1);
    assert.match(cached[0]!, /^better_sqlite3-[0-9a-f]{16}\.node$/);
    assert.deepEqual(fs.readdirSync(s.dir).sort(), ['aeon-x64', 'empty-path', 'home']);
    // A second start reuses it.
    const again = await run(['version']);
    assert.equal(again.code, 0);
    assert.deepEqual(fs.readdirSync(path.join(s.home, '.cache', 'aeon')), cached);
  });

  it('uses the state directory when the cache directory cannot be made', async () => {
    const state = path.join(s.dir, 'state');
    fs.mkdirSync(state, { mode: 0o700 });
    const r = await run(['version'], { env: { XDG_CACHE_HOME: '/dev/null/cache', STATE_DIRECTORY: state } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readdirSync(path.join(state, 'cache')).join(), /^better_sqlite3-[0-9a-f]{16}\.node$/);
  });

  it('init writes a starter config that check accepts; a bad config exits 78 with its path', async () => {
    const init = await run(['init', '--config', 'conf/aeon.json']);
    assert.equal(init.code, 0, init.stderr);
    const ok = await run(['check', '--config', 'conf/aeon.json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^config ok: .*conf\/aeon\.json$/m);
    const sample = writeConfig(s.dir, { device: { board: 'pi-4' }, agents: { main: { provider: 'ollama', model: 'llama3.2' } } }, 'sample.json');
    const sampleOk = await run(['check', '--config', sample]);
    assert.equal(sampleOk.code, 0, sampleOk.stderr);
    assert.match(sampleOk.stdout, /board pi-4 \(heap \d+ MB/);
    const bad = writeConfig(s.dir, { agents: { main: { provider: 'opneai', model: 'x' } } }, 'bad.json');
    const r = await run(['check', '--config', bad]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /agents\.main\.provider: must be one of .* — did you mean "openai"\?/);
  });

  it('ask answers through a replaying LLM server and keeps the turn in SQLite under the data dir', async () => {
    const file = writeConfig(s.dir, { agents: { main: { provider: 'openai-compatible', model: 'test-model', base_url: `${llm.url}/v1` } } }, 'ask.json');
    const r = await run(['ask', '--config', file, 'hello', 'binary']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'You said: hello binary\n');
    assert.ok(fs.statSync(path.join(s.dir, 'data', 'aeon.db')).size > 0, 'aeon.db under the data dir');
    const list = await run(['sessions', 'list', '--config', file]);
    assert.match(list.stdout, /agent:main:cli:default\t2 messages/);
  });

  it('run serves /healthz and /readyz with the board heap limit baked in, and stops cleanly on SIGTERM', async () => {
    const dir = path.join(s.dir, 'svc');
    fs.mkdirSync(dir);
    const file = writeConfig(dir, { server: { port: 0 }, agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1` } } });
    const svc = await startService(native(s.bin), ['run', '--config', file], { env: s.env, cwd: s.dir });
    try {
      assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
      const ready = await fetch(`${svc.url}/readyz`);
      assert.equal(ready.status, 200, await ready.clone().text());
      const status = (await (await fetch(`${svc.url}/status`)).json()) as { process: { heap_limit_bytes: number } };
      // boards/x64.json: heap_mb 512 (+ the young generation); without the baked flag V8 would pick from the machine's RAM.
      const limitMb = status.process.heap_limit_bytes / 1048576;
      assert.ok(limitMb >= 512 && limitMb < 640, `heap limit ${limitMb} MB should follow the 512 MB budget`);
      assert.ok(fs.existsSync(path.join(dir, 'data', 'aeon.db')));
    } finally {
      const code = await svc.stop();
      assert.equal(code, 0, svc.output());
    }
    assert.match(svc.output(), /"msg":"stopped"/);
  });

  it('stack traces name the bundle; with AEON_SOURCE_MAPS=1 and the map beside the binary they name the TypeScript sources', async () => {
    const model = await startReplayServer({
      // Each question gets one tool call; the tool's answer gets text.
      script: (req) =>
        (req.body as { messages: Array<{ role: string }> }).messages.at(-1)!.role === 'tool'
          ? { body: openaiTextStream('Cannot.') }
          : { body: openaiToolCallStream([{ id: 'c1', name: 'file_read', arguments: JSON.stringify({ path: '../outside.txt' }) }]) },
    });
    try {
      const file = writeConfig(s.dir, { agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${model.url}/v1`, tools: ['file_read'] } } }, 'maps.json');
      // The refused path is an Error thrown in src/tools/workspace.ts; the debug log carries its stack.
      const env = { AEON_LOG_LEVEL: 'debug' };
      const plain = await run(['ask', '--config', file, 'read it'], { env });
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stderr, /it contains \\"\.\.\\"[^\n]*at [^\n]*\(aeon-x64\.js:\d+:\d+\)/);
      fs.copyFileSync(path.join(out, 'aeon-x64.js.map'), path.join(s.dir, 'aeon-x64.js.map'));
      const mapped = await run(['ask', '--config', file, 'read it'], { env: { ...env, AEON_SOURCE_MAPS: '1' } });
      assert.equal(mapped.code, 0, mapped.stderr);
      assert.match(mapped.stderr, /it contains \\"\.\.\\"[^\n]*at [^\n]*\(src\/tools\/workspace\.ts:\d+:\d+\)/);
      assert.doesNotMatch(mapped.stderr, /aeon-x64\.js:\d+:\d+/);
    } finally {
      await model.close();
    }
  });

  describe('a tool schema that is not precompiled', () => {
    let broker: TestBroker;
    before(async () => {
      broker = await startBroker();
    });
    after(() => broker?.close());

    it('mqtt_publish arguments are checked by the bundled ajv: bad ones go back to the model, good ones are published', async () => {
      const toolResults = (req: { body: unknown }) => ((req.body as { messages: Array<{ role: string; content: unknown }> }).messages ?? []).filter((m) => m.role === 'tool').map((m) => String(m.content));
      const seen: string[][] = [];
      const model = await startReplayServer({
        script: (req) => {
          const results = toolResults(req);
          seen.push(results);
          if (results.length === 0) return { body: openaiToolCallStream([{ id: 'c1', name: 'mqtt_publish', arguments: JSON.stringify({ topic: 'home/lamp/set', payload: { state: 'ON' }, qos: 'high' }) }]) };
          if (results.length === 1) return { body: openaiToolCallStream([{ id: 'c2', name: 'mqtt_publish', arguments: JSON.stringify({ topic: 'home/lamp/set', payload: { state: 'ON' } }) }]) };
          return { body: openaiTextStream('The lamp is on.') };
        },
      });
      const dir = path.join(s.dir, 'mqtt');
      fs.mkdirSync(dir);
      const file = writeConfig(dir, {
        device: { id: 'binx' },
        server: { port: 0 },
        agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${model.url}/v1`, tools: ['mqtt_publish'] } },
        dialogs: { mqtt: { enabled: true, url: broker.url, protocol_version: broker.mqtt5 ? 5 : 4, tele_period_s: 0 } },
        tools: { mqtt_publish: { allow: ['home/#'] } },
      });
      const svc = await startService(native(s.bin), ['run', '--config', file], { env: s.env, cwd: s.dir });
      const client = await mqtt.connectAsync(broker.url, { protocolVersion: broker.mqtt5 ? 5 : 4 });
      try {
        const got = new Map<string, string>();
        client.on('message', (topic, payload) => got.set(topic, payload.toString()));
        await client.subscribeAsync(['home/#', 'aeon/binx/reply'], { qos: 1 });
        // Ready means the dialog is connected and subscribed.
        const deadline = Date.now() + 15_000;
        while ((await fetch(`${svc.url}/readyz`)).status !== 200) {
          assert.ok(Date.now() < deadline, `never ready:\n${svc.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await client.publishAsync('aeon/binx/prompt', JSON.stringify({ text: 'lamp on please', id: 'p1' }), { qos: 1 });
        while (!got.has('aeon/binx/reply')) {
          assert.ok(Date.now() < deadline + 15_000, `no reply:\n${svc.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const reply = JSON.parse(got.get('aeon/binx/reply')!) as { id: string; text: string };
        assert.equal(reply.id, 'p1');
        assert.equal(reply.text, 'The lamp is on.');
        assert.equal(seen.length, 3, 'bad call, good call, answer');
        assert.match(seen[1]![0]!, /qos/, 'the validation problem names the bad argument');
        assert.match(seen[2]![1]!, /^Published \d+ bytes to home\/lamp\/set/);
        assert.deepEqual(JSON.parse(got.get('home/lamp/set')!), { state: 'ON' });
      } finally {
        await client.endAsync();
        await svc.stop();
        await model.close();
      }
    });
  });
});
