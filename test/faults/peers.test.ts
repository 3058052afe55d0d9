// Peers going away: Mosquitto killed and restarted under a running turn, the
// network to the broker cut (connections reset and refused) and silently
// black-holed, the Telegram Bot API unreachable for 12 s. aeon must recover by
// itself, and /readyz must tell the truth all along: 503 naming the part and
// the reason while it is down, 200 once it is back; the part that is not
// faulted stays ready. A reply finished while the broker was away is
// delivered after the reconnect; a Telegram message sent during the outage is
// answered, once, after it.
//
// Bounds: broker down 3 s, network cut 3 s, Telegram down 12 s (real outages
// last longer; the backoff caps at 60 s, so recovery after a long outage takes
// up to a minute), black hole 3 s with a 2 s keepalive (in production the
// keepalive is 30 s: a silent network is noticed within 45 s).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import { FaultTcp } from '../helpers/fault-tcp.ts';
import { startDialog, until, Watcher } from '../helpers/mqtt-harness.ts';
import { TelegramBench, TOKEN } from '../helpers/telegram-emulator.ts';

const ID = 'peers';
const BASE = `aeon/${ID}`;

let broker: TestBroker;
let bench: TelegramBench;
let llm: ScriptedLlmServer;
let mqttTcp: FaultTcp;
let tgTcp: FaultTcp;
let watcher: Watcher | undefined;

before(async () => {
  broker = await startBroker();
  bench = await TelegramBench.start();
  llm = await startScriptedLlm((v) =>
    v.lastUser.startsWith('slow') ? textReply(`Slowly answering ${v.lastUser}.`, { chunkChars: 2, gapMs: 150 }) : textReply(`Answer to ${v.lastUser}.`),
  );
  mqttTcp = await FaultTcp.start({ port: broker.port });
  tgTcp = await FaultTcp.start({ port: Number(new URL(bench.apiRoot).port) });
});

after(async () => {
  await disposeAll();
  await watcher?.close();
  await mqttTcp?.close();
  await tgTcp?.close();
  await llm?.close();
  await bench?.stop();
  await broker?.close();
});

interface Sample {
  at: number;
  phase: string;
  status: number;
  checks: Record<string, { ready: boolean; state?: string; detail?: string }>;
}

it('broker restart, network cut and Telegram outage: aeon recovers by itself and /readyz tells the truth throughout', { timeout: 120_000 }, async (t) => {
  const aeon = await AeonChild.start(ID, {
    device: { id: ID },
    agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1`, api_key: SECRETS.llm_api_key } },
    dialogs: {
      cli: { enabled: false },
      telegram: { enabled: true, bot_token: TOKEN, api_root: `http://${tgTcp.url}`, allowed_users: [111], poll_timeout_s: 1, stream: false },
      mqtt: { enabled: true, url: `mqtt://${mqttTcp.url}`, username: 'aeon', password: SECRETS.mqtt_password, discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
  });
  const w = await Watcher.connect(broker, { subscribe: [`${BASE}/#`, 'probe/#'] });
  watcher = w;
  const person = bench.person(111);
  const samples: Sample[] = [];
  let phase = 'start';
  let sampling = true;
  const sampler = (async () => {
    while (sampling && aeon.running) {
      const r = await aeon.readyz();
      samples.push({ at: Date.now(), phase, status: r.status, checks: r.body?.checks ?? {} });
      await sleep(150);
    }
  })();
  const marks: Record<string, number> = {};
  const mark = (p: string) => {
    phase = p;
    marks[p] = Date.now();
  };
  const ask = async (id: string, text = id) => {
    await w.publish(`${BASE}/prompt`, JSON.stringify({ text, id }));
    return waitFor(`reply ${id}`, () => w.on(`${BASE}/reply`).find((m) => m.json?.id === id), 15_000);
  };
  /** The watcher is connected and subscribed again (the broker forgot everything). */
  const probed = async (n: string) => {
    await waitFor('watcher reconnected', () => w.client.connected, 10_000);
    await waitFor(`probe ${n}`, async () => {
      await w.publish(`probe/${n}`, 'x', { qos: 0 }).catch(() => {});
      await sleep(100);
      return w.seen.some((m) => m.topic === `probe/${n}`);
    }, 10_000);
  };

  try {
    await waitFor('ready at start', async () => (await aeon.readyz()).status === 200, 15_000);
    mark('up');
    assert.match((await ask('warmup')).json.text, /Answer to warmup/);

    // 1. Mosquitto killed under a running turn, then started again.
    await w.publish(`${BASE}/prompt`, JSON.stringify({ text: 'slow one, please', id: 'slow' }));
    await waitFor('slow answer streaming', () => llm.views.some((v) => v.lastUser.startsWith('slow')), 5000);
    await sleep(300);
    mark('broker-down');
    await mqttTcp.down(); // keep aeon off until the watcher is back, so it sees the queued reply
    await broker.stop();
    await sleep(3000);
    await broker.start();
    await probed('1');
    await mqttTcp.up();
    mark('broker-back');
    await waitFor('ready after the broker restart', async () => (await aeon.readyz()).status === 200, 20_000);
    mark('up2');
    const slow = await waitFor('the reply finished during the outage', () => w.on(`${BASE}/reply`).find((m) => m.json?.id === 'slow'), 10_000);
    assert.match(slow.json.text, /^Slowly answering slow one/);
    assert.equal(slow.json.error, undefined);
    assert.match((await ask('after-restart')).json.text, /Answer to after-restart/);

    // 2. The network to the broker cut: connections reset, new ones refused.
    mark('net-down');
    await mqttTcp.down();
    await sleep(3000);
    await mqttTcp.up();
    mark('net-back');
    await waitFor('ready after the network cut', async () => (await aeon.readyz()).status === 200, 20_000);
    mark('up3');
    assert.match((await ask('after-cut')).json.text, /Answer to after-cut/);

    // 3. The Telegram Bot API unreachable for 12 s; a message sent meanwhile.
    await person.say('hello before');
    await waitFor('Telegram answer before', () => bench.messages(111).some((m) => m.text.includes('Answer to hello before')), 10_000);
    // An answer still being written when the Bot API goes away, and a message sent meanwhile.
    await person.say('slow answer for Telegram');
    await waitFor('the slow Telegram turn streaming', () => llm.views.some((v) => v.lastUser.startsWith('slow answer for Telegram')), 10_000);
    mark('tg-down');
    await tgTcp.down();
    await sleep(500);
    await person.say('written during the outage');
    await sleep(11_500);
    await tgTcp.up();
    mark('tg-back');
    await waitFor('ready after the Telegram outage', async () => (await aeon.readyz()).status === 200, 30_000);
    mark('up4');
    await waitFor('the message from the outage answered', () => bench.messages(111).some((m) => m.text.includes('Answer to written during the outage')), 10_000);
    await waitFor('the answer finished during the outage delivered', () => bench.messages(111).some((m) => m.text.includes('Slowly answering slow answer for Telegram')), 30_000);
    await person.say('and after');
    await waitFor('answer after', () => bench.messages(111).some((m) => m.text.includes('Answer to and after')), 10_000);
    await sleep(1500);
  } finally {
    sampling = false;
    await sampler;
    if (!mqttTcp.isUp) await mqttTcp.up();
    if (!tgTcp.isUp) await tgTcp.up();
  }

  const answers = bench.messages(111).map((m) => m.text);
  assert.deepEqual(answers.toSorted(), ['Answer to and after.', 'Answer to hello before.', 'Answer to written during the outage.', 'Slowly answering slow answer for Telegram.'], 'each message answered once');

  // /readyz told the truth: 200 exactly when every check is ready.
  for (const s of samples) assert.equal(s.status === 200, Object.values(s.checks).every((c) => c.ready), `inconsistent /readyz at ${s.phase}: ${JSON.stringify(s)}`);
  const during = (from: string, to: string, graceMs: number) => samples.filter((s) => s.at >= marks[from]! + graceMs && s.at < marks[to]!);
  const outage = (name: string, from: string, to: string, part: 'mqtt' | 'telegram', other: 'mqtt' | 'telegram', detail: RegExp) => {
    const down = during(from, to, 1500);
    assert.ok(down.length >= 5, `${name}: ${down.length} samples`);
    for (const s of down) {
      assert.equal(s.status, 503, `${name}: /readyz said ${s.status} while ${part} was down: ${JSON.stringify(s.checks)}`);
      assert.equal(s.checks[part]?.ready, false, `${name}: ${JSON.stringify(s.checks[part])}`);
      assert.match(s.checks[part]?.detail ?? '', detail, `${name}: the reason given`);
      assert.equal(s.checks[other]?.ready, true, `${name}: ${other} should stay ready: ${JSON.stringify(s.checks[other])}`);
    }
    return down;
  };
  const b = outage('broker restart', 'broker-down', 'broker-back', 'mqtt', 'telegram', /broker .*(ECONNREFUSED|refused|closed|lost)/i);
  outage('network cut', 'net-down', 'net-back', 'mqtt', 'telegram', /broker .*(ECONNREFUSED|refused|closed|lost|reset)/i);
  const tg = outage('Telegram outage', 'tg-down', 'tg-back', 'telegram', 'mqtt', /cannot poll .*|no answer/i);
  for (const [from, to] of [['up', 'broker-down'], ['up2', 'net-down'], ['up3', 'tg-down'], ['up4', 'end']] as const) {
    marks.end ??= Date.now();
    for (const s of during(from, to, 0)) assert.equal(s.status, 200, `${from}: not ready while every peer was up: ${JSON.stringify(s.checks)}`);
  }
  const recovery = (back: string, up: string) => ((marks[up]! - marks[back]!) / 1000).toFixed(1);
  t.diagnostic(`recovered (s after the peer came back): broker ${recovery('broker-back', 'up2')}, network ${recovery('net-back', 'up3')}, Telegram ${recovery('tg-back', 'up4')}; readyz while down, e.g. ${JSON.stringify(b[0]?.checks.mqtt)} / ${JSON.stringify(tg[0]?.checks.telegram)}`);

  await w.close();
  watcher = undefined;
  assert.equal(await aeon.stop(), 0, aeon.logTail());
  assert.deepEqual(secretLeaks([...answers.map((text) => ({ what: 'telegram', text })), ...w.seen.map((m) => ({ what: m.topic, text: m.text }))]), []);
  await aeon.dispose();
});

it('a silently black-holed network is noticed within 1.5 keepalives, reported, and recovered from', { timeout: 60_000 }, async (t) => {
  const hole = await FaultTcp.start({ port: broker.port });
  const h = await startDialog({ ...broker, url: `mqtt://${hole.url}` }, { dialog: { keepalive_s: 2, reconnect_min_ms: 200, reconnect_max_ms: 1000 } });
  const w = await Watcher.connect(broker, { subscribe: [`${h.base}/reply`] });
  try {
    await until(() => h.dialog.health().ready, 'connected', 5000);
    const t0 = Date.now();
    hole.blackhole();
    await until(() => !h.dialog.health().ready, 'the dead link noticed', 8000);
    const noticed = Date.now() - t0;
    assert.ok(noticed <= 1.5 * 2000 + 2000, `noticed after ${noticed} ms`);
    const health = h.dialog.health();
    assert.match(health.detail ?? '', /broker|keepalive|lost|connect/i, JSON.stringify(health));
    await sleep(3000);
    assert.equal(h.dialog.health().ready, false, 'still not ready while the network is silent');
    hole.restore();
    const t1 = Date.now();
    // A connect attempt swallowed by the black hole waits for its 15 s connect timeout.
    await until(() => h.dialog.health().ready, 'reconnected', 25_000);
    t.diagnostic(`black hole noticed after ${noticed} ms; reconnected ${Date.now() - t1} ms after the network came back`);
    await w.publish(`${h.base}/prompt`, JSON.stringify({ text: 'still there?', id: 'bh' }));
    const r = await w.wait((m) => m.json?.id === 'bh', 'a reply after the black hole', 5000);
    assert.equal(r.json.done, true);
  } finally {
    await w.close();
    await h.stop();
    await hole.close();
  }
});
