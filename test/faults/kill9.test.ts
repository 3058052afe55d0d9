// kill -9 at random points of 50 turns. A real `aeon run` child talks over
// Telegram (emulator behind the fault proxy) and MQTT (Mosquitto) to a
// scripted LLM; some prompts make it run a tool (`exec sleep 1`, a slow
// http_fetch to a loopback server) and the context window is small, so long
// sessions are compacted. A seeded plan kills the child with SIGKILL right
// after a prompt is sent, while the answer streams, while a tool runs, and
// while a session is being compacted; then starts it again. After every kill:
// the database passes `PRAGMA integrity_check`; every Telegram update that
// was confirmed to Telegram (the offset aeon sent) is stored; every MQTT
// prompt whose turn visibly started is stored; the next prompt is answered.
// At the end: every Telegram update is stored exactly once, none is answered
// twice (nor sent to the model twice), unkilled turns were each answered once.
//
// AEON_FAULT_SEED picks another plan; AEON_FAULT_TURNS / AEON_FAULT_KILLS scale it.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { AeonChild, SECRETS, disposeAll, loggedLines, secretLeaks, sleep, waitFor } from '../helpers/fault-aeon.ts';
import { startScriptedLlm, textReply, toolReply, type ScriptedLlmServer } from '../helpers/fault-llm.ts';
import { Watcher } from '../helpers/mqtt-harness.ts';
import { prng } from '../helpers/sse-replay.ts';
import { TelegramBench, TOKEN } from '../helpers/telegram-emulator.ts';

const SEED = Number(process.env.AEON_FAULT_SEED ?? 9009);
const TURNS = Number(process.env.AEON_FAULT_TURNS ?? 50);
const KILLS = Number(process.env.AEON_FAULT_KILLS ?? 10);
const ID = 'kill9';
const BASE = `aeon/${ID}`;
// ~80 tokens a prompt, so sessions reach the small context window and get compacted.
const FILLER = 'Please keep this padding in mind: the quick brown fox jumps over the lazy dog while the kettle boils and the radio plays. '.repeat(3);
const FIRST_UPDATE = 1001; // the proxy numbers updates from here

type Kill = 'after-send' | 'streaming' | 'tool' | 'compacting';
type Kind = 'plain' | 'exec' | 'fetch';
interface Turn {
  i: number;
  token: string;
  dialog: 'tg' | 'mqtt';
  kind: Kind;
  kill?: Kill;
}

let broker: TestBroker;
let bench: TelegramBench;
let llm: ScriptedLlmServer;
let slow: http.Server;
let slowHits: string[] = [];
let aeon: AeonChild;
let watcher: Watcher;

before(async () => {
  broker = await startBroker();
  bench = await TelegramBench.start();
  slow = http.createServer((req, res) => {
    slowHits.push(req.url ?? '');
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('the slow page, finally'), 900);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  llm = await startScriptedLlm((v) => {
    if (v.summary) return { ...textReply('The person sent numbered test prompts with padding; each was answered.'), headersDelayMs: 400 };
    const token = /\b([TM]\d{2})\b/.exec(v.lastUser)?.[1] ?? 'none';
    if (v.last?.role === 'tool') return textReply(`answer to ${token} after the tool, over and out`, { gapMs: 20 });
    if (v.lastUser.includes('[exec]')) return toolReply('exec', { command: 'sleep', args: ['1'] }, `call_${token}`);
    if (v.lastUser.includes('[fetch]')) return toolReply('http_fetch', { url: `${slowUrl}/slow/${token}`, method: 'GET' }, `call_${token}`);
    return textReply(`answer to ${token} in words that stream out slowly, over and out`, { gapMs: 15 });
  });
  aeon = await AeonChild.start(ID, {
    device: { id: ID, board: 'x64' },
    agents: {
      main: {
        provider: 'openai-compatible', model: 'fault-model', base_url: `${llm.url}/v1`, api_key: SECRETS.llm_api_key,
        tools: ['exec', 'http_fetch'], context_tokens: 2048, max_tokens: 128, retries: 0, turn_timeout_s: 60,
      },
    },
    dialogs: {
      cli: { enabled: false },
      telegram: { enabled: true, bot_token: TOKEN, api_root: bench.apiRoot, allowed_users: [111], poll_timeout_s: 1, rate_limit_per_minute: 600 },
      mqtt: { enabled: true, url: broker.url, username: 'aeon', password: SECRETS.mqtt_password, discovery: false, tele_period_s: 0, protocol_version: broker.mqtt5 ? 5 : 4 },
    },
    storage: { compaction: { keep_recent: 2 } },
    tools: { exec: { allow: ['sleep'], timeout_s: 10 }, http_fetch: { allow_private: true, timeout_s: 10 } },
  }, { logLevel: 'info' });
  watcher = await Watcher.connect(broker, { subscribe: [`${BASE}/#`] });
  await waitReady(0); // the retained `online` counts
});

after(async () => {
  await disposeAll();
  await watcher?.close();
  await aeon?.dispose();
  await llm?.close();
  await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
  await bench?.stop();
  await broker?.close();
});

/** The seeded plan: which turn goes where, which ones end in a kill and how. */
function makePlan(): Turn[] {
  const rand = prng(SEED);
  const kinds: Kind[] = ['plain', 'plain', 'plain', 'plain', 'exec', 'fetch'];
  const turns: Turn[] = [];
  for (let i = 0; i < TURNS; i++) {
    const dialog = rand() < 0.5 ? 'tg' : 'mqtt';
    turns.push({ i, dialog, token: `${dialog === 'tg' ? 'T' : 'M'}${String(i).padStart(2, '0')}`, kind: kinds[Math.floor(rand() * kinds.length)]! });
  }
  // Kill turns: spread over the run (never the first two), each kind of moment in turn.
  const slots = new Set<number>();
  while (slots.size < Math.min(KILLS, TURNS - 3)) slots.add(2 + Math.floor(rand() * (TURNS - 3)));
  const order: Kill[] = ['streaming', 'tool', 'compacting', 'after-send'];
  [...slots].sort((a, b) => a - b).forEach((i, n) => {
    const t = turns[i]!;
    t.kill = order[n % order.length]!;
    if (t.kill === 'tool' && t.kind === 'plain') t.kind = n % 2 ? 'fetch' : 'exec';
  });
  return turns;
}

const tgAnswers = (token: string) => bench.messages(111).filter((m) => m.text.includes(`answer to ${token}`));
const tgAnswered = (token: string) => tgAnswers(token).some((m) => m.text.includes('over and out'));
const mqttReplies = (token: string) => watcher.on(`${BASE}/reply`).filter((m) => m.json?.id === token);
const firstRound = (token: string) => llm.views.filter((v) => !v.summary && v.last?.role === 'user' && v.lastUser.startsWith(token));

/** A prompt whose turn visibly started: a state naming it, a delta, or a reply that is not a refusal. */
function mqttStarted(token: string): boolean {
  return watcher.seen.some((m) =>
    (m.topic === `${BASE}/state` && m.json?.last_id === token && (m.json.state === 'thinking' || m.json.state === 'streaming')) ||
    (m.topic === `${BASE}/reply/delta` && m.json?.id === token) ||
    (m.topic === `${BASE}/reply` && m.json?.id === token && !['busy', 'shutdown'].includes(m.json.error?.code)));
}

const onlineCount = () => watcher.on(`${BASE}/status`).filter((m) => m.text === 'online').length;

/** Waits for /readyz 200 and an `online` newer than the `onlineBefore`-th. */
async function waitReady(onlineBefore: number): Promise<void> {
  await waitFor('/readyz 200 (Telegram polling, MQTT connected)', async () => (await aeon.readyz()).status === 200, 20_000, 50);
  // `online` goes out after the subscriptions are acknowledged: only then is a prompt surely seen.
  await waitFor('MQTT online after (re)start', () => onlineCount() > onlineBefore, 10_000);
}

interface StoredView {
  tgIds: number[];
  mqttIds: string[];
  /** The token (first word) of every stored user message. */
  tokens: string[];
  integrity: string;
}

function readStore(): StoredView {
  const store = aeon.openStore();
  try {
    const integrity = store.integrityCheck();
    const tgIds: number[] = [];
    const mqttIds: string[] = [];
    const tokens: string[] = [];
    for (const s of store.listSessions(1000)) {
      for (const m of store.messages(s.session_key)) {
        if (m.role !== 'user') continue;
        tokens.push(m.content.split(' ')[0]!);
        if (typeof m.meta?.telegram_update_id === 'number') tgIds.push(m.meta.telegram_update_id);
        if (typeof m.meta?.mqtt_id === 'string') mqttIds.push(m.meta.mqtt_id);
      }
    }
    return { tgIds, mqttIds, tokens, integrity };
  } finally {
    store.close();
  }
}

it(`kill -9 at seeded random points of ${TURNS} turns loses no acknowledged message and answers none twice (seed ${SEED})`, { timeout: 170_000 }, async (t) => {
  const plan = makePlan();
  const person = bench.person(111);
  const hit = new Map<string, number>();
  const killed = new Map<string, { stored: boolean; dialog: 'tg' | 'mqtt' }>();
  const log: string[] = [];
  const fail = (msg: string) => `${msg}\nseed ${SEED} (AEON_FAULT_SEED=${SEED} to replay)\nplan so far: ${log.join(' ')}\n--- aeon log tail ---\n${aeon.logTail(30)}`;
  let armedCompaction = false;

  for (const turn of plan) {
    const { token, dialog, kind } = turn;
    const tag = kind === 'plain' ? '' : ` [${kind}]`;
    const text = `${token}${tag} ${FILLER}`;
    const viewsBefore = llm.views.length;
    const hitsBefore = slowHits.length;
    if (turn.kill === 'compacting') armedCompaction = true;
    log.push(`${token}:${kind}${turn.kill ? `!${turn.kill}` : ''}`);

    const t0 = Date.now();
    if (process.env.AEON_FAULT_TRACE) process.stderr.write(`${token} ${kind} ${turn.kill ?? ''} start\n`);
    if (dialog === 'tg') await person.say(text);
    else await watcher.publish(`${BASE}/prompt`, JSON.stringify({ text, id: token, session: 's1', stream: true }));
    const answered = () => (dialog === 'tg' ? tgAnswered(token) : mqttReplies(token).length > 0);
    const summaryNow = () => llm.views.slice(viewsBefore).some((v) => v.summary);

    // When does this turn end: answered, or killed at the planned moment?
    let why: string | undefined;
    const rand = prng(SEED * 1000 + turn.i);
    if (turn.kill === 'after-send') {
      await sleep(Math.floor(rand() * 300));
      why = 'after-send';
    } else if (turn.kill === 'streaming') {
      await waitFor(`${token} streaming`, () => firstRound(token).length > 0 || answered(), 20_000);
      await sleep(50 + Math.floor(rand() * 250));
      why = 'streaming';
    } else if (turn.kill === 'tool') {
      if (kind === 'fetch') await waitFor(`${token} http_fetch running`, () => slowHits.length > hitsBefore || answered(), 20_000);
      else await waitFor(`${token} exec requested`, () => firstRound(token).length > 0 || answered(), 20_000).then(() => sleep(200));
      await sleep(Math.floor(rand() * 600));
      why = `tool:${kind}`;
    } else {
      // Plain turns, and armed compaction kills, which fire at the next summary request.
      await waitFor(`${token} answered`, () => answered() || (armedCompaction && summaryNow()), 30_000).catch((e: Error) => assert.fail(fail(e.message)));
      if (armedCompaction && summaryNow()) {
        await sleep(Math.floor(rand() * 400));
        why = 'compacting';
        armedCompaction = false;
      }
    }
    if (process.env.AEON_FAULT_TRACE) process.stderr.write(`${token} ${Date.now() - t0} ms\n`);
    if (!why) continue;

    // The kill, then what must hold while aeon is down.
    await aeon.kill9();
    hit.set(why.split(':')[0]!, (hit.get(why.split(':')[0]!) ?? 0) + 1);
    log[log.length - 1] += `=>killed(${why})`;
    const confirmed = bench.proxy.confirmed;
    const s = readStore();
    assert.equal(s.integrity, 'ok', fail('integrity_check after kill -9'));
    const tgStored = new Set(s.tgIds);
    for (let id = FIRST_UPDATE; id < confirmed; id++) assert.ok(tgStored.has(id), fail(`update ${id} was confirmed to Telegram (offset ${confirmed}) but is not stored`));
    const mqttStored = new Set(s.mqttIds);
    for (const p of plan.slice(0, turn.i + 1)) {
      if (p.dialog === 'mqtt' && mqttStarted(p.token)) assert.ok(mqttStored.has(p.token), fail(`MQTT prompt ${p.token} started its turn but is not stored`));
    }
    killed.set(token, { stored: s.tokens.includes(token), dialog });

    const online = onlineCount();
    await aeon.restart();
    await waitReady(online).catch((e: Error) => assert.fail(fail(e.message)));
    if (process.env.AEON_FAULT_TRACE) process.stderr.write(`restarted ${Date.now() - t0} ms\n`);
  }

  // Updates killed before they were stored are delivered again and answered now.
  await waitFor('re-delivered Telegram updates answered', () => [...killed].every(([tok, k]) => k.dialog !== 'tg' || k.stored || tgAnswered(tok)), 30_000).catch((e: Error) => assert.fail(fail(e.message)));
  // The session goes on after the last restart.
  await person.say(`T99 ${FILLER}`);
  await waitFor('a last Telegram answer', () => tgAnswered('T99'), 20_000).catch((e: Error) => assert.fail(fail(e.message)));
  await watcher.publish(`${BASE}/prompt`, JSON.stringify({ text: `M99 ${FILLER}`, id: 'M99', session: 's1' }));
  await waitFor('a last MQTT answer', () => mqttReplies('M99').length > 0, 20_000).catch((e: Error) => assert.fail(fail(e.message)));
  await sleep(500);

  assert.equal(await aeon.stop(), 0, fail('clean stop after the run'));
  const s = readStore();
  assert.equal(s.integrity, 'ok');
  const lastId = bench.proxy.lastId;
  const counts = new Map<number, number>();
  for (const id of s.tgIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (let id = FIRST_UPDATE; id <= lastId; id++) assert.equal(counts.get(id), 1, fail(`Telegram update ${id} is stored ${counts.get(id) ?? 0} times (want exactly once)`));

  for (const p of [...plan, { token: 'T99', dialog: 'tg' as const }, { token: 'M99', dialog: 'mqtt' as const }]) {
    assert.ok(firstRound(p.token).length <= 1, fail(`${p.token} was sent to the model ${firstRound(p.token).length} times`));
    if (p.dialog === 'tg') {
      assert.ok(tgAnswers(p.token).length <= 1, fail(`${p.token} was answered ${tgAnswers(p.token).length} times in Telegram`));
      if (!killed.has(p.token)) assert.ok(tgAnswered(p.token), fail(`${p.token} was never answered`));
    } else {
      assert.ok(mqttReplies(p.token).length <= 1, fail(`${p.token} got ${mqttReplies(p.token).length} MQTT replies`));
      if (!killed.has(p.token)) assert.equal(mqttReplies(p.token)[0]?.json?.error, undefined, fail(`${p.token} failed: ${JSON.stringify(mqttReplies(p.token)[0]?.json)}`));
      if (!killed.has(p.token)) assert.equal(s.mqttIds.filter((x) => x === p.token).length, 1, fail(`${p.token} stored ${s.mqttIds.filter((x) => x === p.token).length} times`));
    }
  }
  const kinds = [...hit].map(([k, n]) => `${k} ${n}`).join(', ');
  t.diagnostic(`seed ${SEED}: ${plan.length} turns, ${killed.size} kills (${kinds}), ${llm.views.filter((v) => v.summary).length} compactions, ${lastId - FIRST_UPDATE + 1} Telegram updates`);
  for (const k of ['streaming', 'tool', 'compacting']) assert.ok((hit.get(k) ?? 0) > 0, fail(`no kill landed while ${k}; the plan did not exercise it`));
  assert.ok(loggedLines() > 50, 'the children logged');
  assert.deepEqual(secretLeaks(bench.messages(111).map((m) => ({ what: 'telegram answer', text: m.text }))), []);
});
