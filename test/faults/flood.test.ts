// Flood: ~1,000 prompts a second over MQTT for 10 s (5 s when CI is set:
// the CI machine shares two cores with the other test files) at a real
// `aeon run` on the pi-zero-2w budget (64 MB heap, 8 turns at once, 4 waiting
// per session, 64 in all), spread over 50 sessions, against a scripted LLM
// that takes ~150 ms an answer. What must hold: every prompt gets exactly one
// final reply (an answer, or a "busy" sentence the moment the queues are
// full); the agent's queue never exceeds its bound; RSS stays under the
// board's memory_max_mb and the heap under heap_mb; /healthz keeps answering
// 200, quickly, all through; afterwards aeon answers as before.
//
// AEON_FAULT_FLOOD_S and AEON_FAULT_FLOOD_RATE change the load.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import mqtt from 'mqtt';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, plainSentenceProblem, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import pizero from '../../boards/pi-zero-2w.json' with { type: 'json' };

const SECONDS = Number(process.env.AEON_FAULT_FLOOD_S ?? (process.env.CI ? 5 : 10));
const RATE = Number(process.env.AEON_FAULT_FLOOD_RATE ?? 1000);
const SESSIONS = 50;
const ID = 'flood';
const BASE = `aeon/${ID}`;
const MB = 1024 * 1024;
const budget = pizero.budget;

let broker: TestBroker;
let llm: ScriptedLlmServer;
let aeon: AeonChild;
let client: mqtt.MqttClient | undefined;

before(async () => {
  broker = await startBroker();
  llm = await startScriptedLlm((v) => textReply(`Answer to ${v.lastUser}.`, { gapMs: 30 }));
  aeon = await AeonChild.start(ID, {
    device: { id: ID, board: 'pi-zero-2w' },
    agents: { main: { provider: 'openai-compatible', model: 'm', base_url: `${llm.url}/v1`, api_key: SECRETS.llm_api_key } },
    dialogs: {
      cli: { enabled: false },
      mqtt: { enabled: true, url: broker.url, username: 'aeon', password: SECRETS.mqtt_password, discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
  }, { logLevel: 'info' });
  await waitFor('/readyz 200', async () => (await aeon.readyz()).status === 200, 15_000, 50);
});

after(async () => {
  await disposeAll();
  await client?.endAsync(true);
  await aeon?.dispose();
  await llm?.close();
  await broker?.close();
});

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

it(`${RATE} prompts/s over MQTT for ${SECONDS} s: bounded queues, "busy" for the excess, RSS in budget, /healthz responsive`, { timeout: 150_000 }, async (t) => {
  client = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `flood-${process.pid}` });
  const replies = new Map<string, { code: string | undefined; message?: string; n: number }>();
  let online = false;
  client.on('message', (topic, payload) => {
    if (topic === `${BASE}/status`) {
      online = payload.toString() === 'online';
      return;
    }
    const r = JSON.parse(payload.toString()) as { id: string; error?: { code: string; message: string } };
    const e = replies.get(r.id);
    if (e) e.n++;
    else replies.set(r.id, { code: r.error?.code, ...(r.error ? { message: r.error.message } : {}), n: 1 });
  });
  await client.subscribeAsync({ [`${BASE}/reply`]: { qos: 1 }, [`${BASE}/status`]: { qos: 1 } });
  await waitFor('aeon online', () => online, 10_000);

  const m = { rss: 0, heap: 0, queued: 0, running: 0, health: [] as number[], healthFailed: 0 };
  let sampling = true;
  const samplers = [
    (async () => {
      while (sampling && aeon.running) {
        m.rss = Math.max(m.rss, aeon.rssBytes());
        await sleep(100);
      }
    })(),
    (async () => {
      while (sampling && aeon.running) {
        const h = await aeon.health();
        if (h.status === 200) m.health.push(h.ms);
        else m.healthFailed++;
        await sleep(50);
      }
    })(),
    (async () => {
      while (sampling && aeon.running) {
        const s = await aeon.get('/status');
        if (s.status === 200) {
          m.heap = Math.max(m.heap, s.body.process?.heap_used_bytes ?? 0);
          m.queued = Math.max(m.queued, s.body.agent?.queued ?? 0);
          m.running = Math.max(m.running, s.body.agent?.running ?? 0);
        }
        await sleep(250);
      }
    })(),
  ];
  const idle = { rss: aeon.rssBytes() };

  // The flood: every 10 ms, the prompts due by now (catching up after a late timer).
  const total = RATE * SECONDS;
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * RATE) + 1);
    for (; sent < due; sent++) {
      client.publish(`${BASE}/prompt`, JSON.stringify({ text: `flood ${sent}`, id: `f${sent}`, session: `s${sent % SESSIONS}` }), { qos: 1 });
    }
    await sleep(10);
  }
  const floodMs = Date.now() - t0;
  const healthDuring = [...m.health];
  await waitFor(`a reply to each of the ${total} prompts`, () => replies.size >= total, 60_000, 100).catch(() => undefined);
  const drainMs = Date.now() - t0 - floodMs;
  await sleep(500);
  sampling = false;
  await Promise.all(samplers);

  const missing = [...Array(total).keys()].filter((i) => !replies.has(`f${i}`));
  const twice = [...replies].filter(([, r]) => r.n > 1).map(([id]) => id);
  const answered = [...replies.values()].filter((r) => r.code === undefined).length;
  const busy = [...replies.values()].filter((r) => r.code === 'busy');
  const other = [...replies].filter(([, r]) => r.code !== undefined && r.code !== 'busy');
  t.diagnostic(`${total} prompts in ${floodMs} ms (${Math.round(total / (floodMs / 1000))}/s); all replied ${drainMs} ms after; ${answered} answered, ${busy.length} busy, ${other.length} other`);
  t.diagnostic(`RSS idle ${(idle.rss / MB).toFixed(1)} MB, peak ${(m.rss / MB).toFixed(1)} MB (budget ${budget.memory_max_mb}); heap peak ${(m.heap / MB).toFixed(1)} MB (budget ${budget.heap_mb}); queue peak ${m.queued} (bound ${budget.queue_total}), running peak ${m.running} (bound ${budget.max_concurrent_turns})`);
  t.diagnostic(`/healthz during the flood: ${healthDuring.length} probes, p50 ${pct(healthDuring, 50).toFixed(1)} ms, p99 ${pct(healthDuring, 99).toFixed(1)} ms, max ${Math.max(...healthDuring).toFixed(1)} ms, failed ${m.healthFailed}`);

  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} prompts got no reply`);
  assert.deepEqual(twice.slice(0, 10), [], `${twice.length} prompts got more than one reply`);
  assert.deepEqual(other.slice(0, 5), [], 'only answers and busy');
  assert.ok(busy.length > 0, 'the excess was refused as busy');
  assert.ok(answered >= budget.max_concurrent_turns, `${answered} answered`);
  assert.equal(plainSentenceProblem(busy[0]!.message), undefined, busy[0]!.message);
  assert.match(busy[0]!.message!, /busy/);
  assert.ok(m.queued <= budget.queue_total, `queue reached ${m.queued}`);
  assert.ok(m.running <= budget.max_concurrent_turns, `running reached ${m.running}`);
  assert.ok(m.rss > 0 && m.rss < budget.memory_max_mb * MB, `peak RSS ${(m.rss / MB).toFixed(1)} MB`);
  assert.ok(m.heap > 0 && m.heap < budget.heap_mb * MB, `peak heap ${(m.heap / MB).toFixed(1)} MB`);
  assert.equal(m.healthFailed, 0, '/healthz failed during the flood');
  assert.ok(healthDuring.length >= SECONDS * 5, `only ${healthDuring.length} /healthz answers during the flood`);
  assert.ok(pct(healthDuring, 99) < 1000, `/healthz p99 ${pct(healthDuring, 99).toFixed(0)} ms`);

  // Afterwards: business as usual, in the queue-free state.
  assert.equal((await aeon.status()).agent.queued, 0);
  client.publish(`${BASE}/prompt`, JSON.stringify({ text: 'after the flood', id: 'after' }), { qos: 1 });
  await waitFor('answer after the flood', () => replies.get('after'), 10_000);
  assert.equal(replies.get('after')!.code, undefined);
  await client.endAsync();
  client = undefined;
  assert.ok(aeon.running);
  assert.equal(await aeon.stop(), 0, aeon.logTail());
  assert.deepEqual(secretLeaks(), []);
});
