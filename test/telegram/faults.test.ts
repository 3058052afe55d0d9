// Faults from the Bot API, injected by the proxy in front of the emulator:
// 409 Conflict (another poller, a webhook), 429 with retry_after, a poll that
// never answers, an unreachable API. None may turn into a hot loop, and the
// bot token must never show in a log line or an error.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { silentLogger } from '../../src/log.ts';
import { TOKEN, TelegramBench, delay, waitFor } from '../helpers/telegram-emulator.ts';
import { startDialog, type Running } from '../helpers/telegram-setup.ts';

let bench: TelegramBench;
const runs: Running[] = [];

beforeEach(async () => {
  bench = await TelegramBench.start();
});
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  await bench.stop();
});

async function start(o: Parameters<typeof startDialog>[1] = {}): Promise<Running> {
  const r = await startDialog(bench, { telegram: { stream: false, poll_timeout_s: 1 }, script: (i) => ({ text: `answer to ${i.text}` }), dialog: { stopWaitMs: 300, poll: { graceMs: 700, backoffMs: 200, backoffCapMs: 1600 } }, ...o });
  runs.push(r);
  return r;
}

const CONFLICT = 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running';

describe('telegram faults', () => {
  it('409 Conflict: one clear log line, capped exponential backoff, no hot loop, recovers', async () => {
    bench.proxy.fault({ method: 'getUpdates', status: 409, description: CONFLICT, times: Infinity });
    const t0 = Date.now();
    const run = await start();
    await delay(4000);
    const polls = bench.proxy.count('getUpdates', t0, Date.now());
    // backoff 0.2, 0.4, 0.8, 1.6, 1.6 s... → about 6 tries in 4 s; a hot loop would make thousands.
    assert.ok(polls >= 3 && polls <= 9, `getUpdates calls in 4 s: ${polls}`);
    const h = run.dialog.health();
    assert.equal(h.state, 'conflict');
    assert.equal(h.ready, false);
    assert.match(h.detail ?? '', /another program is polling this bot token/);
    const lines = bench.logLines.filter((l) => /409|[Cc]onflict/.test(String(JSON.parse(l).msg)));
    assert.equal(lines.length, 1, `one log line for the episode, got:\n${lines.join('')}`);
    assert.match(lines[0]!, /stop the other instance/);
    assert.equal(JSON.parse(lines[0]!).level, 50);

    bench.proxy.clearFaults();
    await bench.person(111).say('still there?');
    await waitFor('answer after the conflict ends', () => bench.messages(111)[0], 6000);
    assert.equal(run.dialog.health().state, 'connected');
    assert.ok(bench.logLines.some((l) => l.includes('polling works again')));
  });

  it('409 because a webhook is set: says to call deleteWebhook', async () => {
    bench.proxy.fault({ method: 'getUpdates', status: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first", times: Infinity });
    const run = await start();
    await waitFor('conflict', () => run.dialog.health().state === 'conflict');
    assert.match(run.dialog.health().detail ?? '', /webhook is set.*deleteWebhook/);
    assert.ok(!(run.dialog.health().detail ?? '').includes(TOKEN));
  });

  it('two pollers on one token: both back off, neither spins', async () => {
    const t0 = Date.now();
    const a = await start();
    const b = await start();
    const states = new Set<string>();
    const watch = setInterval(() => {
      states.add(`a:${a.dialog.health().state}`);
      states.add(`b:${b.dialog.health().state}`);
    }, 20);
    await delay(4000);
    clearInterval(watch);
    const polls = bench.proxy.count('getUpdates', t0, Date.now());
    const conflicts = bench.proxy.requests.filter((r) => r.method === 'getUpdates' && r.status === 409).length;
    assert.ok(conflicts >= 1, 'the proxy ended polls with 409');
    assert.ok(polls <= 30, `getUpdates calls in 4 s by two pollers: ${polls}`);
    assert.ok(states.has('a:conflict') || states.has('b:conflict'), [...states].join(' '));
  });

  it('429 on getUpdates waits retry_after before polling again', async () => {
    bench.proxy.fault({ method: 'getUpdates', status: 429, description: 'Too Many Requests: retry after 2', retryAfter: 2 });
    const run = await start();
    await waitFor('second poll', () => bench.proxy.count('getUpdates') >= 2, 6000);
    const [first, second] = bench.proxy.calls('getUpdates');
    assert.equal(first!.status, 429);
    assert.ok(second!.at - first!.at >= 1900, `waited ${second!.at - first!.at} ms`);
    await bench.person(111).say('hi');
    await waitFor('answer', () => bench.messages(111)[0]);
    assert.equal(run.dialog.health().state, 'connected');
  });

  it('429 on sendMessage and on streaming edits: the answer still arrives, after retry_after', async () => {
    const run = await start({ telegram: { stream: true, poll_timeout_s: 1 }, script: () => ({ chunks: ['one ', 'two ', 'three ', 'four'], gapMs: 400 }) });
    bench.proxy.fault({ method: 'sendMessage', status: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
    bench.proxy.fault({ method: 'editMessageText', status: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1, times: 2 });
    await bench.person(111).say('count');
    const m = await waitFor('final answer', () => bench.messages(111).find((x) => x.text === 'one two three four'), 8000);
    assert.ok(m);
    assert.equal(bench.messages(111).length, 1);
    const sends = bench.proxy.calls('sendMessage');
    assert.equal(sends[0]!.status, 429);
    assert.ok(sends[1]!.at - sends[0]!.at >= 950, `send retried after ${sends[1]!.at - sends[0]!.at} ms`);
    assert.ok(run.count('telegram_api_rate_limited_total') >= 2);
  });

  it('a poll that never answers is detected as stalled and restarted', async () => {
    bench.proxy.fault({ method: 'getUpdates', hang: true });
    const run = await start();
    await waitFor('stalled', () => run.dialog.health().state === 'stalled', 5000);
    assert.match(run.dialog.health().detail ?? '', /no answer/);
    await bench.person(111).say('are you there?');
    await waitFor('answer after the stall', () => bench.messages(111)[0], 6000);
    assert.equal(run.dialog.health().state, 'connected');
    assert.equal(run.count('telegram_poll_errors_total'), 1);
  });

  it('the watchdog restarts a poll loop that makes no progress at all', async () => {
    bench.proxy.fault({ method: 'getUpdates', hang: true });
    // The per-request limit is far away: only the watchdog can notice.
    const run = await start({ dialog: { stopWaitMs: 300, poll: { graceMs: 60_000, stallMs: 1500, backoffMs: 200, backoffCapMs: 1600 } } });
    await waitFor('watchdog fired', () => run.count('telegram_poll_restarts_total') === 1, 5000);
    assert.equal(run.dialog.health().state === 'stalled' || run.dialog.health().state === 'connected', true);
    await bench.person(111).say('hello again');
    await waitFor('answer after the restart', () => bench.messages(111)[0], 5000);
    assert.ok(bench.logLines.some((l) => /restarting the Telegram poll/.test(l)));
    assert.equal(run.count('telegram_poll_restarts_total'), 1, 'one restart, not a loop of them');
  });

  it('an unreachable API backs off and never puts the token into logs, health or tool errors', async () => {
    const lines: string[] = [];
    // A logger without secret scrubbing: what the dialog itself writes must already be clean.
    const raw = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const run = await start({ log: raw, telegram: { stream: false, poll_timeout_s: 1, api_root: 'http://127.0.0.1:9' }, extra: { tools: { message_send: { allow_chats: [111] } } } });
    await delay(2500);
    const h = run.dialog.health();
    assert.equal(h.ready, false);
    assert.match(h.detail ?? '', /cannot poll 127\.0\.0\.1:9/);
    const tool = run.tools.find((t) => t.name === 'message_send')!;
    const err = await tool.execute({ chat_id: 111, text: 'hi' }, { signal: AbortSignal.timeout(8000), session: 's', log: silentLogger() }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'the tool fails');
    const everything = [...lines, h.detail ?? '', err!.message, String(err!.stack)].join('\n');
    assert.ok(!everything.includes(TOKEN), 'token leaked');
    assert.ok(!everything.includes(TOKEN.split(':')[1]!), 'token secret part leaked');
    assert.ok(lines.length > 0 && lines.length < 20, `a few log lines, not one per retry (${lines.length})`);
  });
});
