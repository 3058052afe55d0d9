// systemd stops aeon with SIGTERM, possibly mid-answer: the partial reply is
// kept in SQLite, the person gets a final saying so, MQTT says `offline`, and
// the process exits 0 well within TimeoutStopSec.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, it } from 'node:test';
import mqtt from 'mqtt';
import { Store } from '../../src/store/index.ts';
import { MAIN, tempConfig } from '../helpers/aeon-cli.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { openaiTextStream, startReplayServer, type ReplayServer } from '../helpers/sse-replay.ts';

let broker: TestBroker;
let llm: ReplayServer;
const FULL = 'The first half of a long answer and the second half that never comes.';

before(async () => {
  broker = await startBroker();
  const body = openaiTextStream(FULL, { chunkChars: 8 });
  // Send up to the middle, then go silent: the model is "still generating".
  llm = await startReplayServer({ script: { body, split: 'none', stallAfterBytes: body.indexOf('half') + 400 } });
});
after(async () => {
  await llm.close();
  await broker.close();
});

it('SIGTERM during a streaming turn keeps the partial reply and exits 0 in time', async () => {
  const { dir, file } = tempConfig({
    device: { id: 'sigterm' },
    server: { port: 0 },
    agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1` } },
    dialogs: { mqtt: { enabled: true, url: broker.url, discovery: false, protocol_version: broker.mqtt5 ? 5 : 4 } },
  });
  const child = spawn(process.execPath, [MAIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: dir } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));

  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
  const seen: Array<{ topic: string; payload: string }> = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync('aeon/sigterm/#');
  const waitFor = async (what: string, cond: () => boolean, ms = 15_000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${out}\n${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitFor('online', () => seen.some((m) => m.topic === 'aeon/sigterm/status' && m.payload === 'online'));
  await client.publishAsync('aeon/sigterm/prompt', JSON.stringify({ text: 'tell me a long story', id: 'p1', stream: true }), { qos: 1 });
  await waitFor('a delta', () => seen.some((m) => m.topic === 'aeon/sigterm/reply/delta'));
  await new Promise((r) => setTimeout(r, 200));

  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.once('exit', r));
  const took = Date.now() - t0;
  assert.equal(code, 0, out);
  assert.ok(took < 10_000, `stopped in ${took} ms; systemd allows TimeoutStopSec`);

  await waitFor('final and offline', () => seen.some((m) => m.topic === 'aeon/sigterm/reply') && seen.some((m) => m.topic === 'aeon/sigterm/status' && m.payload === 'offline'), 5000);
  const final = JSON.parse(seen.find((m) => m.topic === 'aeon/sigterm/reply')!.payload);
  assert.equal(final.id, 'p1');
  assert.equal(final.error?.code, 'shutdown');
  assert.ok(final.text.length >= 8 && FULL.startsWith(final.text) && final.text !== FULL, `a partial answer: ${JSON.stringify(final)}`);
  await client.endAsync();

  const store = Store.open({ path: path.join(dir, 'data', 'aeon.db') });
  const session = store.listSessions()[0]!;
  const msgs = [...store.messages(session.session_key)];
  assert.equal(msgs[0]!.content, 'tell me a long story');
  assert.equal(msgs[1]!.role, 'assistant');
  assert.equal(msgs[1]!.content, final.text, 'what the person saw is what is stored');
  assert.deepEqual(msgs[1]!.meta, { partial: true, error: 'aborted' });
  assert.equal(store.integrityCheck(), 'ok');
  store.close();
});
