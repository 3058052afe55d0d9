// `<base>/request/<cmd>` → `<base>/response/<cmd>` with the transaction echoed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { gate } from '../helpers/mqtt-agent.ts';
import { startDialog, until, Watcher, type DialogHarness } from '../helpers/mqtt-harness.ts';

let broker: TestBroker;
let h: DialogHarness;
let w: Watcher;
const holds = new Map<string, ReturnType<typeof gate>>();

before(async () => {
  broker = await startBroker();
  h = await startDialog(broker, {
    script: (i) => (holds.has(i.text) ? { hold: holds.get(i.text)!.promise } : {}),
    mqtt: { username: 'aeon', password: 'hunter2-very-secret' },
    agents: { main: { provider: 'openai', model: 'gpt-4o-mini', api_key: 'sk-test-abcdef123456', headers: { authorization: 'Bearer xyz123456' } } },
  });
  w = await Watcher.connect(broker, { subscribe: [`${h.base}/#`] });
  await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online');
});
after(async () => {
  await w?.close();
  await h?.stop();
  await broker?.close();
});

async function request(cmd: string, payload: unknown): Promise<any> {
  const before = w.on(`${h.base}/response/${cmd}`).length;
  await w.publish(`${h.base}/request/${cmd}`, typeof payload === 'string' ? payload : JSON.stringify(payload));
  await until(() => w.on(`${h.base}/response/${cmd}`).length > before, `response to ${cmd}`);
  return w.on(`${h.base}/response/${cmd}`)[before]!.json;
}

test('ping answers ok with the transaction echoed; an empty payload works too', async () => {
  assert.deepEqual(await request('ping', { transaction: 7 }), { status: 'ok', data: {}, transaction: 7 });
  assert.deepEqual(await request('ping', ''), { status: 'ok', data: {} });
  assert.deepEqual(await request('ping', { transaction: 'abc' }), { status: 'ok', data: {}, transaction: 'abc' });
});

test('health reports the connection, the agent and the device', async () => {
  const r = await request('health', { transaction: 1 });
  assert.equal(r.status, 'ok');
  assert.deepEqual(r.data.mqtt, { ready: true, state: 'connected' });
  assert.equal(r.data.agent.model, 'test/scripted');
  assert.equal(r.data.device.rss_bytes, 50 << 20);
});

test('config is redacted: no password, api key or auth header, not even their names', async () => {
  const r = await request('config', { transaction: 2 });
  assert.equal(r.status, 'ok');
  assert.equal(r.data.dialogs.mqtt.username, 'aeon');
  assert.equal(r.data.agents.main.model, 'gpt-4o-mini');
  const text = JSON.stringify(r);
  for (const secret of ['hunter2-very-secret', 'sk-test-abcdef123456', 'xyz123456']) assert.ok(!text.includes(secret), `${secret} leaked`);
  assert.ok(!('password' in r.data.dialogs.mqtt));
  assert.ok(!('api_key' in r.data.agents.main));
  assert.ok(!('headers' in r.data.agents.main));
});

test('session/list, session/reset and cancel act on MQTT sessions', async () => {
  h.agent.submitted.length = 0;
  await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'remember me', session: 'garage', id: 'g1' }));
  await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'g1', 'reply g1');

  // The agent stored the garage session; a Telegram one must not be listed.
  h.store.ensureSession('agent:main:telegram:42', { agent_id: 'main', dialog: 'telegram', chat: '42' });
  const list = await request('session/list', { transaction: 3 });
  assert.equal(list.status, 'ok');
  assert.deepEqual(list.data.sessions.map((s: any) => s.session), ['garage'], 'only MQTT sessions are listed');
  assert.equal(list.data.sessions[0].messages, 2);

  const reset = await request('session/reset', { session: 'garage', transaction: 4 });
  assert.deepEqual(reset, { status: 'ok', data: { session: 'garage', key: 'agent:main:mqtt:garage' }, transaction: 4 });
  assert.deepEqual(h.agent.resets, ['agent:main:mqtt:garage']);
  assert.equal(h.store.getSession('agent:main:mqtt:garage'), undefined, 'the history is gone');

  // Cancel by the running prompt's id.
  holds.set('long job', gate());
  await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'long job', session: 'attic', id: 'L1' }));
  await until(() => h.agent.submitted.some((i) => i.id === 'L1'), 'long job taken');
  const cancel = await request('cancel', { id: 'L1', transaction: 5 });
  assert.deepEqual(cancel, { status: 'ok', data: { session: 'attic', cancelled: true }, transaction: 5 });
  const final = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.id === 'L1', 'cancelled reply');
  assert.equal(final.json.error.code, 'cancelled');
  assert.deepEqual(await request('cancel', { session: 'attic' }), { status: 'ok', data: { session: 'attic', cancelled: false } });
  const unknownId = await request('cancel', { id: 'nope', transaction: 6 });
  assert.equal(unknownId.status, 'error');
  assert.match(unknownId.error, /No running prompt has id "nope"/);
  assert.equal(unknownId.transaction, 6);
});

test('unknown commands and bad payloads get an error response, with the transaction when readable', async () => {
  const unknown = await request('reboot', { transaction: 9 });
  assert.equal(unknown.status, 'error');
  assert.match(unknown.error, /Unknown command "reboot"; known: ping, health, session\/reset, session\/list, cancel, config/);
  assert.equal(unknown.transaction, 9);
  const bad = await request('ping', '{"transaction": 10, oops}');
  assert.equal(bad.status, 'error');
  assert.equal(bad.transaction, 10);
  const extra = await request('session/reset', { transaction: 11, sesion: 'x' });
  assert.equal(extra.status, 'error');
  assert.match(extra.error, /sesion: is not a known key — did you mean "session"\?/);
  assert.equal(extra.transaction, 11);
  const text = await request('ping', 'PRESS');
  assert.equal(text.status, 'error');
  assert.match(text.error, /empty or a JSON object/);
  assert.equal(h.dialog.health().ready, true);
});

test('MQTT 5: a request with a response topic also gets the response there, correlation data copied', async () => {
  assert.ok(broker.mqtt5, `needs an MQTT 5 broker, and ${broker.kind} is not one: install mosquitto`);
  const v5 = await Watcher.connect(broker, { protocolVersion: 5, subscribe: ['tool/replies'] });
  try {
    const corr = Buffer.from([1, 2, 0, 255]);
    await v5.publish(`${h.base}/request/ping`, '{"transaction": 42}', { qos: 1, properties: { responseTopic: 'tool/replies', correlationData: corr } });
    const r = await v5.wait((m) => m.topic === 'tool/replies', 'response on the response topic');
    assert.deepEqual(r.json, { status: 'ok', data: {}, transaction: 42 });
    assert.ok(r.packet.properties?.correlationData?.equals(corr));
  } finally {
    await v5.close();
  }
});
