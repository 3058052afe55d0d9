// Commands, groups and forum topics, files, and the message_send tool, end to
// end through the emulator.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { htmlToText } from '../../src/dialogs/telegram/markdown.ts';
import type { ToolContext } from '../../src/tools/types.ts';
import { silentLogger } from '../../src/log.ts';
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

const texts = (chat: number) => bench.messages(chat).map((m) => htmlToText(m.text));

describe('telegram commands', () => {
  it('/reset forgets the conversation through the agent', async () => {
    run = await startDialog(bench, { script: () => ({ text: 'noted' }) });
    const ann = bench.person(111);
    await ann.say('remember the number 7');
    await waitFor('answer', () => texts(111).includes('noted'));
    const session = run.agent.sessionKey({ dialog: 'telegram', chat: '111' });
    assert.equal([...run.store.messages(session)].length, 2);
    await ann.say('/reset');
    await waitFor('reset reply', () => texts(111).some((t) => /forgot our conversation/.test(t)));
    assert.deepEqual(run.agent.resets, [session]);
    assert.equal([...run.store.messages(session)].length, 0);
    assert.equal(run.agent.turns.length, 1, 'the command itself is not sent to the agent');
  });

  it('/cancel stops the answer being written', async () => {
    run = await startDialog(bench, { script: () => ({ chunks: ['Working on a very long essay'], hold: true }) });
    const ann = bench.person(111);
    await ann.say('write an essay');
    await waitFor('streaming started', () => texts(111).includes('Working on a very long essay'));
    await ann.say('/cancel');
    await waitFor('stopped reply', () => texts(111).includes('Stopped.'));
    await waitFor('partial answer marked', () => texts(111).includes('Working on a very long essay\n\n(stopped)'));
    await ann.say('/cancel');
    await waitFor('nothing to stop', () => texts(111).some((t) => /Nothing to stop/.test(t)));
  });

  it('/status shows uptime, model, today\'s tokens and cost, temperature and memory; /usage shows today and the month', async () => {
    run = await startDialog(bench, { telegram: { stream: false }, script: () => ({ text: 'fine' }) });
    const ann = bench.person(111);
    await ann.say('hello');
    await waitFor('answer', () => texts(111).includes('fine'));
    await ann.say('/status');
    const status = await waitFor('status', () => texts(111).find((t) => t.startsWith('testbox')));
    assert.match(status, /up 3 h 12 min/);
    assert.match(status, /Model: test\/scripted/);
    assert.match(status, /Today: 120 tokens \(100 in, 20 out\) · \$0\.0020 · 1 requests/);
    assert.match(status, /CPU 48\.5 °C/);
    assert.match(status, /memory 61\.0 MB RSS/);
    assert.match(status, /Telegram: connected/);
    await ann.say('/usage');
    const usage = await waitFor('usage', () => texts(111).find((t) => t.startsWith('Today:')));
    const month = new Date().toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
    assert.match(usage, /Today: 100 in · 20 out · \$0\.0020 · 1 requests/);
    assert.match(usage, new RegExp(`${month}: 100 in`));
    assert.match(usage, /test\/scripted/);
    await ann.say('/help');
    await waitFor('help', () => texts(111).some((t) => t.includes('/reset — start a new conversation')));
    assert.deepEqual(run.agent.turns.map((t) => t.text), ['hello']);
  });
});

describe('telegram groups', () => {
  it('answers in an allowed group only when mentioned or replied to; each forum topic is its own session', async () => {
    run = await startDialog(bench, { telegram: { allowed_chats: [-100123], stream: false }, script: (i) => ({ text: `answer for ${i.chat}` }) });
    await waitFor('getMe done', () => bench.proxy.count('setMyCommands') > 0);
    const ann = bench.person(111, { chatId: -100123, type: 'supergroup', firstName: 'Ann', userName: 'ann' });
    const bob = bench.person(333, { chatId: -100123, type: 'supergroup', firstName: 'Bob' });
    await ann.say('hello everyone');
    await ann.say('/weather'); // not one of our commands: group chatter too
    await bob.say('@TestNameBot what time is it?');
    const first = await waitFor('answer to the mention', () => bench.messages(-100123)[0]);
    assert.equal(first.text, 'answer for -100123');
    assert.equal(run.agent.turns.length, 1, 'plain group chatter is not sent to the agent');
    assert.equal(run.agent.turns[0]!.text, 'Bob (@user333): what time is it?', 'mention removed, sender named');
    assert.equal(run.agent.turns[0]!.user, '333');
    const sent = bench.proxy.calls('sendMessage').at(-1)!;
    assert.match(sent.params.reply_parameters ?? '', /"message_id":\d+/, 'the answer replies to the message');

    await ann.say('and you?', { reply_to_message: { message_id: first.message_id, from: { id: 666, is_bot: true, username: 'TestNameBot' }, chat: { id: -100123, type: 'supergroup' }, text: first.text } });
    await waitFor('answer to the reply', () => run!.agent.turns.length === 2);
    assert.equal(run.agent.turns[1]!.text, 'Ann (@ann): and you?');

    await ann.say('@TestNameBot in the topic', { message_thread_id: 77, is_topic_message: true });
    await waitFor('topic answer', () => bench.messages(-100123).some((m) => m.text === 'answer for -100123:77'));
    const topicReply = bench.messages(-100123).find((m) => m.text === 'answer for -100123:77')!;
    assert.equal(topicReply.message_thread_id, 77, 'the answer goes to the same topic');
    assert.notEqual(run.agent.sessionKey({ dialog: 'telegram', chat: '-100123:77' }), run.agent.sessionKey({ dialog: 'telegram', chat: '-100123' }));

    // A group that is not allowed: a mention gets one refusal naming the group id; chatter gets nothing.
    const eve = bench.person(444, { chatId: -100999, type: 'supergroup' });
    await eve.say('random talk');
    await eve.say('@TestNameBot hi');
    const refusal = await waitFor('group refusal', () => bench.messages(-100999)[0]);
    assert.match(htmlToText(refusal.text), /-100999/);
    assert.match(htmlToText(refusal.text), /allowed_chats/);
    await delay(200);
    assert.equal(bench.messages(-100999).length, 1);
    assert.equal(run.agent.turns.length, 3);
  });

  it('answers every group message with group_mode "all", and ignores commands for other bots', async () => {
    run = await startDialog(bench, { telegram: { allowed_chats: [-5], group_mode: 'all', stream: false }, script: (i) => ({ text: `ok ${i.text}` }) });
    await waitFor('getMe done', () => bench.proxy.count('setMyCommands') > 0);
    const ann = bench.person(111, { chatId: -5, type: 'group', firstName: 'Ann' });
    await ann.say('/status@OtherBot');
    await ann.say('plain words');
    await waitFor('answer', () => bench.messages(-5).length === 1);
    await delay(200);
    assert.equal(bench.messages(-5).length, 1);
    assert.equal(run.agent.turns[0]!.text, 'Ann (@user111): plain words');
  });
});

describe('telegram files', () => {
  it('saves documents and photos into the workspace and tells the model the path; refuses big files and voice', async () => {
    run = await startDialog(bench, { telegram: { max_file_bytes: 1000, stream: false }, script: (i) => ({ text: `seen: ${i.text}` }) });
    const ann = bench.person(111);
    const doc = bench.proxy.addFile(Buffer.from('name,value\nx,1\n'), 'data.csv');
    await ann.say('', { text: undefined, caption: 'please sum this', document: { file_id: doc, file_name: '../../evil name.csv', file_size: 15, mime_type: 'text/csv' } });
    const answer = await waitFor('document answer', () => texts(111).find((t) => t.startsWith('seen:')));
    const rel = /workspace at (telegram\/111\/\S+)\]/.exec(answer)?.[1];
    assert.ok(rel, answer);
    assert.match(rel, /evil_name\.csv$/, 'the file name is made safe');
    assert.match(run.agent.turns[0]!.text, /^please sum this\n\n\[The user sent/);
    assert.equal(fs.readFileSync(path.join(run.config.tools.workspace, rel), 'utf8'), 'name,value\nx,1\n');

    const small = bench.proxy.addFile(Buffer.alloc(300, 1), 'p.jpg');
    const large = bench.proxy.addFile(Buffer.alloc(5000, 2), 'p.jpg');
    await ann.say('', { text: undefined, photo: [{ file_id: small, file_size: 300, width: 90, height: 90 }, { file_id: large, file_size: 5000, width: 1280, height: 1280 }] });
    await waitFor('photo answer', () => run!.agent.turns.length === 2);
    const photoRel = /workspace at (telegram\/111\/\S+\.jpg)\]/.exec(run.agent.turns[1]!.text)?.[1];
    assert.ok(photoRel);
    assert.equal(fs.statSync(path.join(run.config.tools.workspace, photoRel)).size, 300, 'the largest size within the cap');

    const big = bench.proxy.addFile(Buffer.alloc(5000), 'big.bin');
    await ann.say('', { text: undefined, document: { file_id: big, file_name: 'big.bin', file_size: 5000 } });
    await waitFor('refusal', () => texts(111).some((t) => /4\.9 kB; I can take at most 1000 B/.test(t)));
    await ann.say('', { text: undefined, voice: { file_id: 'v', duration: 3 } });
    await waitFor('voice reply', () => texts(111).some((t) => /Voice messages are not supported yet/.test(t)));
    await delay(200);
    assert.equal(run.agent.turns.length, 2, 'refused files and voice never reach the agent');
    assert.equal(bench.proxy.calls('file').length, 2, 'the big file was never downloaded');
  });
});

describe('message_send tool', () => {
  it('sends to an allowed chat and refuses any other with a clear error', async () => {
    run = await startDialog(bench, { extra: { tools: { message_send: { allow_chats: [111, -100123] } } } });
    const tool = run.tools.find((t) => t.name === 'message_send')!;
    assert.ok(tool);
    const ctx: ToolContext = { signal: new AbortController().signal, session: 'agent:main:mqtt:x', log: silentLogger() };
    const out = await tool.execute({ chat_id: 111, text: '**Reminder**: water the plants' }, ctx);
    assert.match(out, /Sent to Telegram chat 111/);
    const m = await waitFor('message', () => bench.messages(111)[0]);
    assert.equal(m.text, '<b>Reminder</b>: water the plants');
    await assert.rejects(tool.execute({ chat_id: 999, text: 'hi' }, ctx), /chat 999 is not one this device may message.*tools\.message_send\.allow_chats/);
    assert.equal(bench.messages(999).length, 0);
  });
});
