// The Telegram dialog end to end: a person writes through the telegram-test-api
// emulator, the real dialog long-polls it through the fault/extension proxy
// over real HTTP (node-telegram-bot-api on undici), the scripted agent answers.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { htmlToText } from '../../src/dialogs/telegram/markdown.ts';
import { TelegramBench, delay, waitFor } from '../helpers/telegram-emulator.ts';
import { startDialog, type Running } from '../helpers/telegram-setup.ts';

let bench: TelegramBench;
let run: Running | undefined;

beforeEach(async () => {
  bench = await TelegramBench.start();
});
afterEach(async () => {
  await run?.stop();
  run = undefined;
  await bench.stop();
});

describe('telegram dialog: answers', () => {
  it('streams a reply: a first message at once, throttled edits, then the full formatted text', async () => {
    run = await startDialog(bench, {
      script: () => ({ chunks: ['Hello', ' there,', ' this', ' is', ' a streamed', ' **answer**.'], gapMs: 450, thinkMs: 300 }),
    });
    const ann = bench.person(111);
    await ann.say('hi');
    const first = await waitFor('first reply', () => bench.messages(111)[0]);
    assert.equal(first.text, 'Hello', 'the first piece is sent as soon as it arrives');
    const final = await waitFor('final text', () => bench.messages(111).find((m) => m.text.endsWith('<b>answer</b>.')));
    assert.equal(final.text, 'Hello there, this is a streamed <b>answer</b>.');
    assert.equal(final.parse_mode, 'HTML');
    assert.equal(bench.messages(111).length, 1, 'one message, edited in place');

    const writes = bench.proxy.requests.filter((r) => (r.method === 'sendMessage' || r.method === 'editMessageText') && r.params.chat_id === '111');
    const edits = writes.filter((r) => r.method === 'editMessageText');
    assert.ok(edits.length >= 2, `several edits while streaming (got ${edits.length})`);
    for (let i = 1; i < writes.length - 1; i++) {
      assert.ok(writes[i]!.at - writes[i - 1]!.at >= 900, `streaming writes at most about once a second (gap ${writes[i]!.at - writes[i - 1]!.at} ms)`);
    }
    assert.ok(bench.proxy.count('sendChatAction') >= 1, 'typing… shown while thinking');
    assert.equal(bench.proxy.calls('sendChatAction')[0]!.params.action, 'typing');

    // The message is stored with its update id, and the offset moved past it.
    const session = run.agent.sessionKey({ dialog: 'telegram', chat: '111' });
    const stored = [...run.store.messages(session)];
    assert.equal(stored[0]!.content, 'hi');
    assert.equal(typeof stored[0]!.meta?.telegram_update_id, 'number');
    await waitFor('offset saved', () => run!.store.kvGet('telegram.offset') === String((stored[0]!.meta!.telegram_update_id as number) + 1));
    // The command menu was registered at start.
    await waitFor('setMyCommands', () => bench.proxy.commands.length === 1);
    assert.deepEqual((bench.proxy.commands[0] as { command: string }[]).map((c) => c.command), ['start', 'help', 'reset', 'cancel', 'status', 'usage']);
    assert.equal(run.dialog.health().state, 'connected');
    assert.equal(run.dialog.health().ready, true);
  });

  it('with stream off, sends only the final answer', async () => {
    run = await startDialog(bench, { telegram: { stream: false }, script: () => ({ chunks: ['one ', 'two ', 'three'], gapMs: 400 }) });
    await bench.person(111).say('count');
    await waitFor('answer', () => bench.messages(111)[0]);
    await run.agent.idle();
    await delay(300);
    assert.equal(bench.proxy.count('editMessageText'), 0);
    assert.equal(bench.proxy.count('sendMessage'), 1);
    assert.equal(bench.messages(111)[0]!.text, 'one two three');
  });

  it('splits an answer longer than 4096 characters into several messages, in order, code blocks closed and reopened', async () => {
    const paras = Array.from({ length: 60 }, (_, i) => `Paragraph ${i} ${'lorem ipsum dolor '.repeat(10).trim()}.`);
    const code = Array.from({ length: 120 }, (_, i) => `x${i} = ${i}  # <tag> & more`).join('\n');
    const answer = `${paras.slice(0, 30).join('\n\n')}\n\n\`\`\`python\n${code}\n\`\`\`\n\n${paras.slice(30).join('\n\n')}`;
    assert.ok(answer.length > 3 * 4096);
    const chunks = answer.match(/[\s\S]{1,700}/g)!;
    run = await startDialog(bench, { script: () => ({ chunks, gapMs: 60 }) });
    await bench.person(111).say('write a lot');
    await run.agent.idle();
    await waitFor('every paragraph delivered', () => htmlToText(bench.messages(111).map((m) => m.text).join('\n')).includes('Paragraph 59 '), 15_000);
    await delay(500);
    const msgs = bench.messages(111);
    assert.ok(msgs.length >= 4, `several messages (got ${msgs.length})`);
    for (const m of msgs) assert.ok(htmlToText(m.text).length <= 4096);
    assert.ok(bench.proxy.requests.every((r) => r.status !== 400), 'Telegram accepted every piece');
    const visible = msgs.map((m) => htmlToText(m.text)).join('\n');
    const order = [...visible.matchAll(/Paragraph (\d+) /g)].map((m) => Number(m[1]));
    assert.deepEqual(order, Array.from({ length: 60 }, (_, i) => i), 'each paragraph once, in order');
    const lines = [...visible.matchAll(/^x(\d+) = /gm)].map((m) => Number(m[1]));
    assert.deepEqual(lines, Array.from({ length: 120 }, (_, i) => i), 'each code line once, in order');
    for (const m of msgs.filter((x) => x.text.includes('x5 ') || x.text.includes('x119 '))) assert.match(m.text, /<pre><code class="language-python">/);
  });

  it('resends as plain text when Telegram rejects the formatting', async () => {
    run = await startDialog(bench, { telegram: { stream: false }, script: () => ({ text: 'A **bold** claim & more' }) });
    bench.proxy.fault({ method: 'sendMessage', when: (p) => p.parse_mode === 'HTML', status: 400, description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 2' });
    await bench.person(111).say('hi');
    const m = await waitFor('answer', () => bench.messages(111)[0]);
    assert.equal(m.text, 'A **bold** claim & more');
    assert.equal(m.parse_mode, undefined);
    assert.equal(run.count('telegram_format_fallbacks_total'), 1);
  });

  it('shows a turn error to the person and keeps streamed text', async () => {
    run = await startDialog(bench, { script: () => ({ chunks: ['Partial answer'], error: { code: 'llm_timeout', message: 'The model took too long to answer.' } }) });
    await bench.person(111).say('hi');
    const m = await waitFor('answer with note', () => bench.messages(111).find((x) => x.text.includes('took too long')));
    assert.match(m.text, /^Partial answer\n\n⚠️ The model took too long to answer\.$/);
  });
});

describe('telegram dialog: access', () => {
  it('refuses a stranger once, with their id and how to allow it; no agent call, nothing stored', async () => {
    run = await startDialog(bench);
    const eve = bench.person(222);
    await eve.say('hello?');
    const refusal = await waitFor('refusal', () => bench.messages(222)[0]);
    assert.match(refusal.text, /222/);
    assert.match(refusal.text, /dialogs\.telegram\.allowed_users/);
    await eve.say('/start');
    await eve.say('please');
    await waitFor('all handled', () => bench.proxy.count('getUpdates') > 0 && run!.store.kvGet('telegram.offset') === String(bench.proxy.lastId + 1));
    await delay(200);
    assert.equal(bench.messages(222).length, 1, 'one refusal per period, not one per message');
    assert.equal(run.agent.submitted.length, 0, 'the agent never hears of it');
    assert.equal(run.store.listSessions().length, 0, 'nothing stored');
    assert.ok(bench.logLines.some((l) => l.includes('refused') && l.includes('222')), 'a log line says who was refused');
  });

  it('slows down a person over the per-minute limit, with one clear reply', async () => {
    run = await startDialog(bench, { telegram: { rate_limit_per_minute: 2, stream: false }, script: (i) => ({ text: `re: ${i.text}` }) });
    const ann = bench.person(111);
    for (const t of ['one', 'two', 'three', 'four']) await ann.say(t);
    await waitFor('all handled', () => run!.store.kvGet('telegram.offset') === String(bench.proxy.lastId + 1));
    await run.agent.idle();
    await delay(300);
    const texts = bench.messages(111).map((m) => m.text);
    assert.deepEqual(run.agent.turns.map((t) => t.text), ['one', 'two']);
    assert.equal(texts.filter((t) => /Slow down/.test(t)).length, 1);
    assert.match(texts.find((t) => /Slow down/.test(t))!, /2 messages a minute/);
  });

  it('refuses oversized text and survives malformed and unknown updates', async () => {
    run = await startDialog(bench, { extra: { budget: { max_message_bytes: 4096 } }, script: (i) => ({ text: `got ${i.text.length}` }) });
    bench.proxy.inject({ message: { chat: 'not a chat' } });
    bench.proxy.inject({ message: { message_id: 5, chat: { id: 111, type: 'private' }, from: { id: 111 }, text: 12345 } });
    bench.proxy.inject({ edited_message: { message_id: 5, chat: { id: 111, type: 'private' }, text: 'edited' } });
    bench.proxy.inject({ callback_query: { id: 'x' } });
    bench.proxy.inject({});
    const ann = bench.person(111);
    await ann.say('y'.repeat(5000));
    await ann.say('short one');
    const ok = await waitFor('answer to the good message', () => bench.messages(111).find((m) => m.text === 'got 9'));
    assert.ok(ok);
    assert.ok(bench.messages(111).some((m) => /too long/.test(m.text) && /4096/.test(m.text)), 'oversized text gets a reply');
    assert.deepEqual(run.agent.turns.map((t) => t.text), ['short one']);
    assert.ok(bench.logLines.filter((l) => l.includes('malformed Telegram update')).length >= 2);
    assert.equal(run.dialog.health().state, 'connected');
    await waitFor('all settled', () => run!.store.kvGet('telegram.offset') === String(bench.proxy.lastId + 1));
  });
});
