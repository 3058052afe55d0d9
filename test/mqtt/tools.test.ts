// mqtt_publish and mqtt_read against a real broker, as the agent calls them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import type { Tool, ToolContext } from '../../src/tools/types.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { startDialog, until, Watcher, type DialogHarness } from '../helpers/mqtt-harness.ts';

let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.close();
});

function ctx(over: Partial<ToolContext> = {}): ToolContext {
  return { signal: new AbortController().signal, session: 'agent:main:mqtt:default', prompt_id: 'p42', log: silentLogger(), ...over };
}

/** Reads until the result satisfies `ok` (messages arrive asynchronously). */
async function readUntil(read: Tool, topic: string, ok: (o: any) => boolean, timeoutMs = 3000): Promise<any> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const o = JSON.parse(await read.execute({ topic }, ctx()));
      if (ok(o)) return o;
      last = o;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`mqtt_read ${topic} never satisfied the test: last ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tool(h: DialogHarness, name: string): Tool {
  const t = h.tools.find((x) => x.name === name);
  assert.ok(t, `${name} is offered`);
  return t;
}

describe('mqtt_publish', () => {
  let h: DialogHarness;
  let w: Watcher;
  before(async () => {
    h = await startDialog(broker, { tools: { mqtt_publish: { allow: ['zigbee2mqtt/+/set', 'cmnd/+/POWER', 'scratch/#', 'aeon/literal-only/prompt'] } }, mqtt: { base_topic: 'aeon/literal-only' } });
    w = await Watcher.connect(broker, { subscribe: ['#'] });
    await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online');
  });
  after(async () => {
    await w?.close();
    await h?.stop();
  });

  test('"turn on the hall light": Zigbee2MQTT JSON and Tasmota text reach their topics, each mirrored to <base>/action', async () => {
    const out = await tool(h, 'mqtt_publish').execute({ topic: 'zigbee2mqtt/hall/set', payload: { state: 'ON' } }, ctx());
    assert.match(out, /Published 14 bytes to zigbee2mqtt\/hall\/set \(QoS 1\)/);
    const z = await w.wait((m) => m.topic === 'zigbee2mqtt/hall/set', 'zigbee2mqtt publish');
    assert.equal(z.text, '{"state":"ON"}');
    const action = await w.wait((m) => m.topic === `${h.base}/action`, 'action mirror');
    assert.deepEqual(action.json, { id: 'p42', session: 'agent:main:mqtt:default', topic: 'zigbee2mqtt/hall/set', payload: { state: 'ON' }, qos: 1, retain: false });

    await tool(h, 'mqtt_publish').execute({ topic: 'cmnd/hall/POWER', payload: 'ON', qos: 0 }, ctx({ prompt_id: 'p43' }));
    const t = await w.wait((m) => m.topic === 'cmnd/hall/POWER', 'tasmota publish');
    assert.equal(t.text, 'ON');
    const a2 = await w.wait((m) => m.topic === `${h.base}/action` && m.json.id === 'p43', 'second mirror');
    assert.equal(a2.json.payload, 'ON');
    assert.equal(a2.json.qos, 0);
  });

  test('a topic outside the allow-list is refused with an error naming the list, and nothing is published', async () => {
    const pub = tool(h, 'mqtt_publish');
    await assert.rejects(pub.execute({ topic: 'zigbee2mqtt/front_door_lock/set/extra', payload: 'UNLOCK' }, ctx()), (e: Error) => {
      assert.match(e.message, /matches none of the allowed topic patterns \(tools\.mqtt_publish\.allow: zigbee2mqtt\/\+\/set, cmnd\/\+\/POWER, scratch\/#, aeon\/literal-only\/prompt\)/);
      return true;
    });
    await assert.rejects(pub.execute({ topic: 'zigbee2mqtt/+/set', payload: 'x' }, ctx()), /wildcard/);
    await assert.rejects(pub.execute({ topic: '$SYS/broker/x', payload: 'x' }, ctx()), /system topic/);
    // `scratch/#` would match anything, but aeon's own topics need a literal entry.
    await assert.rejects(pub.execute({ topic: `${h.base}/reply`, payload: 'fake' }, ctx()), /aeon's own topic/);
    await new Promise((r) => setTimeout(r, 200));
    for (const topic of ['zigbee2mqtt/front_door_lock/set/extra', `${h.base}/reply`]) assert.equal(w.on(topic).length, 0, `${topic} got nothing`);
    assert.equal(w.on(`${h.base}/action`).filter((m) => m.json.payload === 'UNLOCK' || m.json.payload === 'fake').length, 0);
  });

  test('retain and an own topic listed literally are honoured', async () => {
    await tool(h, 'mqtt_publish').execute({ topic: 'scratch/a/b', payload: 21.5, retain: true }, ctx());
    const late = await Watcher.connect(broker, { subscribe: ['scratch/a/b'] });
    try {
      const m = await late.wait(() => true, 'retained scratch');
      assert.equal(m.packet.retain, true);
      assert.equal(m.text, '21.5');
    } finally {
      await late.close();
      await w.publish('scratch/a/b', '', { qos: 1, retain: true });
    }
    // aeon/literal-only/prompt is allowed by name: the agent may prompt itself on purpose.
    await tool(h, 'mqtt_publish').execute({ topic: `${h.base}/prompt`, payload: 'note to self' }, ctx());
    await until(() => h.agent.submitted.some((i) => i.text === 'note to self'), 'self prompt');
  });

  test('without a broker connection it says so instead of pretending', async () => {
    const idle = await startDialog(broker, { tools: { mqtt_publish: { allow: ['#'] } }, noStart: true });
    try {
      await assert.rejects(tool(idle, 'mqtt_publish').execute({ topic: 'x/y', payload: '1' }, ctx()), /Not connected to the MQTT broker/);
    } finally {
      await idle.stop();
    }
  });
});

describe('mqtt_read', () => {
  test('returns a retained value published before aeon subscribed, then the latest live one; the cache is LRU-bounded', async () => {
    const pub = await Watcher.connect(broker);
    await pub.publish('zigbee2mqtt/hall_sensor', JSON.stringify({ temperature: 21.4, humidity: 40 }), { qos: 1, retain: true });
    const h = await startDialog(broker, { tools: { mqtt_read: { topics: ['zigbee2mqtt/+', 'tele/+/SENSOR'], max_entries: 2 } } });
    try {
      const read = tool(h, 'mqtt_read');
      let out = await readUntil(read, 'zigbee2mqtt/hall_sensor', () => true);
      assert.deepEqual(out.payload, { temperature: 21.4, humidity: 40 });
      assert.equal(out.retained, true);
      assert.equal(out.topic, 'zigbee2mqtt/hall_sensor');

      await pub.publish('zigbee2mqtt/hall_sensor', JSON.stringify({ temperature: 22 }));
      out = await readUntil(read, 'zigbee2mqtt/hall_sensor', (o) => o.payload.temperature === 22);
      assert.deepEqual(out.payload, { temperature: 22 });
      assert.equal(out.retained, false);

      await pub.publish('tele/kitchen/SENSOR', 'plain text value');
      out = await readUntil(read, 'tele/kitchen/SENSOR', () => true);
      assert.equal(out.payload, 'plain text value');

      // max_entries 2: a third topic evicts the least recently used one.
      await pub.publish('zigbee2mqtt/porch', '{"state":"OFF"}');
      await readUntil(read, 'zigbee2mqtt/porch', () => true);
      await assert.rejects(read.execute({ topic: 'zigbee2mqtt/hall_sensor' }, ctx()), /No message has been seen on "zigbee2mqtt\/hall_sensor" yet/);
      const list = JSON.parse(await read.execute({ topic: '#' }, ctx()));
      assert.deepEqual(list.map((x: any) => x.topic).sort(), ['tele/kitchen/SENSOR', 'zigbee2mqtt/porch']);
    } finally {
      await pub.publish('zigbee2mqtt/hall_sensor', '', { qos: 1, retain: true });
      await pub.close();
      await h.stop();
    }
  });

  test('a topic the list does not cover is a clear error naming the list', async () => {
    const h = await startDialog(broker, { tools: { mqtt_read: { topics: ['zigbee2mqtt/+'] } } });
    try {
      await assert.rejects(tool(h, 'mqtt_read').execute({ topic: 'secret/diary' }, ctx()), /"secret\/diary" is not a topic mqtt_read follows \(tools\.mqtt_read\.topics: zigbee2mqtt\/\+\)/);
      await assert.rejects(tool(h, 'mqtt_read').execute({ topic: 'zigbee2mqtt/nothing_here' }, ctx()), /No message has been seen/);
    } finally {
      await h.stop();
    }
    const none = await startDialog(broker);
    try {
      await assert.rejects(tool(none, 'mqtt_read').execute({ topic: 'a/b' }, ctx()), /tools\.mqtt_read\.topics/);
    } finally {
      await none.stop();
    }
  });
});
