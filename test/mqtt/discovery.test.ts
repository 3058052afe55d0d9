// Home Assistant device discovery: what HA needs to build the device, re-sent
// when HA comes online, and every command topic it declares really works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { startDialog, until, Watcher } from '../helpers/mqtt-harness.ts';

let broker: TestBroker;
before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.close();
});

// What Home Assistant does with a command_template: render `value` into it.
// Only the one construct aeon uses is supported; anything else fails the test.
function renderCommand(template: string, value: string): string {
  const out = template.replace('{{ value | to_json }}', JSON.stringify(value));
  assert.ok(!out.includes('{{'), `unexpected template construct in ${template}`);
  return out;
}

test('discovery is one retained device message with device, origin, availability and components HA accepts', async () => {
  const h = await startDialog(broker);
  const w = await Watcher.connect(broker, { subscribe: ['homeassistant/device/+/config'] });
  try {
    const id = h.config.device.id;
    await w.wait((x) => x.topic === `homeassistant/device/${id}/config`, 'discovery');
    // A subscriber arriving later (HA after its restart) still gets it: retained.
    const late = await Watcher.connect(broker, { subscribe: [`homeassistant/device/${id}/config`] });
    const m = await late.wait(() => true, 'retained discovery');
    await late.close();
    assert.equal(m.packet.retain, true, 'retained, so HA finds it after its own restart');
    const d = m.json;
    assert.deepEqual(d.dev.ids, [`aeon_${id}`]);
    assert.equal(d.dev.name, h.config.device.name);
    assert.equal(typeof d.dev.sw, 'string');
    assert.equal(d.o.name, 'aeon');
    assert.deepEqual(d.availability, [{ topic: `${h.base}/status`, payload_available: 'online', payload_not_available: 'offline' }]);
    const cmps = Object.entries<any>(d.cmps);
    assert.ok(cmps.length >= 8);
    const uids = new Set<string>();
    for (const [key, c] of cmps) {
      assert.equal(typeof c.p, 'string', `${key} has a platform`);
      assert.match(c.unique_id, new RegExp(`^aeon_${id}_`), `${key} has a unique_id`);
      uids.add(c.unique_id);
      if (c.p === 'sensor') assert.ok(c.state_topic, `${key} sensor has a state topic`);
      if (['text', 'notify', 'button'].includes(c.p)) assert.ok(c.command_topic, `${key} has a command topic`);
    }
    assert.equal(uids.size, cmps.length, 'unique ids are unique');
    const byPlatform = (p: string) => cmps.filter(([, c]) => c.p === p).map(([k, c]) => ({ k, ...c }));
    const text = byPlatform('text');
    assert.equal(text.length, 1);
    assert.equal(text[0].max, 255);
    assert.equal(text[0].command_topic, `${h.base}/prompt`);
    assert.equal(byPlatform('notify').length, 1);
    const lastReply = d.cmps.last_reply;
    assert.equal(lastReply.state_topic, `${h.base}/reply`);
    assert.equal(lastReply.json_attributes_topic, `${h.base}/reply`, 'full reply as attributes');
    assert.match(lastReply.value_template, /\[:255\]/, 'state truncated to 255');
    assert.equal(d.cmps.state.state_topic, `${h.base}/state`);
    const diagnostics = byPlatform('sensor').filter((c) => c.entity_category === 'diagnostic');
    assert.ok(diagnostics.every((c) => c.state_topic === `${h.base}/tele`));
    assert.deepEqual(diagnostics.map((c) => c.k).sort(), ['cpu_temperature', 'model', 'rss', 'tokens_in', 'tokens_out', 'uptime']);
    assert.equal(d.cmps.cpu_temperature.device_class, 'temperature');
    assert.deepEqual(byPlatform('button').map((b) => b.k).sort(), ['cancel', 'reset_session']);
  } finally {
    await w.close();
    await h.stop();
  }
});

test('the text, notify and button command topics it declares are subscribed and handled', async () => {
  const h = await startDialog(broker);
  const w = await Watcher.connect(broker, { subscribe: [`homeassistant/device/${h.config.device.id}/config`, `${h.base}/#`] });
  try {
    const d = (await w.wait((x) => x.topic.startsWith('homeassistant/device/'), 'discovery')).json;
    // Like HA: the text entity publishes its rendered command template.
    await w.publish(d.cmps.prompt.command_topic, renderCommand(d.cmps.prompt.command_template, 'turn on the "hall" light'));
    const r1 = await w.wait((m) => m.topic === `${h.base}/reply` && m.json.text?.includes('hall'), 'reply to the text entity');
    assert.equal(r1.json.session, 'homeassistant');
    assert.equal(r1.json.text, 'you said: turn on the "hall" light.');
    await w.publish(d.cmps.ask.command_topic, renderCommand(d.cmps.ask.command_template, 'a long question '.repeat(30)));
    await until(() => h.agent.submitted.length === 2, 'notify prompt');
    assert.equal(h.agent.submitted[1]!.chat, 'homeassistant');
    for (const key of ['reset_session', 'cancel']) {
      const b = d.cmps[key];
      await w.publish(b.command_topic, b.payload_press);
      const cmd = b.command_topic.slice(`${h.base}/request/`.length);
      const res = await w.wait((m) => m.topic === `${h.base}/response/${cmd}`, `response to the ${key} button`);
      assert.equal(res.json.status, 'ok', `${key}: ${res.text}`);
      assert.equal(res.json.data.session, 'homeassistant');
    }
    assert.deepEqual(h.agent.resets, ['agent:main:mqtt:homeassistant']);
  } finally {
    await w.close();
    await h.stop();
  }
});

test('discovery and state are re-sent when homeassistant/status says online, after the delay', async () => {
  const h = await startDialog(broker, { dialog: { discovery_delay_ms: () => 400 } });
  const topic = `homeassistant/device/${h.config.device.id}/config`;
  const w = await Watcher.connect(broker, { subscribe: [topic, `${h.base}/state`] });
  try {
    await w.wait((m) => m.topic === topic, 'first discovery');
    await until(() => w.on(`${h.base}/state`).length === 1, 'retained state');
    const sentAt = Date.now();
    await w.publish('homeassistant/status', 'online', { qos: 1 });
    await until(() => w.on(topic).length === 2, 'discovery re-sent', 3000);
    const delay = w.on(topic)[1]!.at - sentAt;
    assert.ok(delay >= 380, `re-sent after ${delay} ms, expected the 400 ms delay`);
    assert.deepEqual(w.on(topic)[1]!.json, w.on(topic)[0]!.json);
    await until(() => w.on(`${h.base}/state`).length === 2, 'state re-sent');
    // `offline` from HA changes nothing.
    await w.publish('homeassistant/status', 'offline', { qos: 1 });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(w.on(topic).length, 2);
  } finally {
    await w.close();
    await h.stop();
  }
});

test('with discovery off nothing is published under the discovery prefix, and HA online is ignored', async () => {
  const h = await startDialog(broker, { mqtt: { discovery: false } });
  const w = await Watcher.connect(broker, { subscribe: ['homeassistant/#', `${h.base}/status`] });
  try {
    await w.wait((m) => m.topic === `${h.base}/status` && m.text === 'online', 'online');
    await w.publish('homeassistant/status', 'online', { qos: 1 });
    await new Promise((r) => setTimeout(r, 400));
    const ours = w.seen.filter((m) => m.topic.startsWith('homeassistant/') && m.topic.includes(h.config.device.id));
    assert.deepEqual(ours.map((m) => m.topic), []);
  } finally {
    await w.close();
    await h.stop();
  }
});
