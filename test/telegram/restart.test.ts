// Restarts neither lose nor repeat a message. Each case stops one dialog and
// starts a new one on the same SQLite file; the proxy re-delivers whatever
// Telegram would still hold (updates never confirmed, or confirmations lost).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { TelegramBench, delay, waitFor } from '../helpers/telegram-emulator.ts';
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
  const r = await startDialog(bench, { telegram: { stream: false }, script: (i) => ({ text: `answer to ${i.text}` }), dialog: { stopWaitMs: 300 }, ...o });
  runs.push(r);
  return r;
}

const answers = () => bench.messages(111).map((m) => m.text);

describe('telegram restart', () => {
  it('a restart between updates neither loses nor repeats a message, even when Telegram re-delivers everything', async () => {
    const a = await start();
    const ann = bench.person(111);
    await ann.say('one');
    await ann.say('two');
    await waitFor('two answers', () => answers().length === 2);
    const firstId = bench.proxy.lastId - 1;
    await a.stop();

    await ann.say('three'); // arrives while aeon is down
    bench.proxy.rewind(firstId); // as if the confirmations never reached Telegram
    const b = await start();
    await waitFor('third answer', () => answers().length === 3);
    await delay(600);
    assert.deepEqual(answers(), ['answer to one', 'answer to two', 'answer to three']);
    assert.deepEqual(a.agent.turns.map((t) => t.text), ['one', 'two']);
    assert.deepEqual(b.agent.turns.map((t) => t.text), ['three'], 'the new process answers only the new message');
    assert.equal(b.agent.submitted.length, 1);
    assert.equal(b.store.kvGet('telegram.offset'), String(bench.proxy.lastId + 1));
  });

  it('a message fetched but not yet stored when aeon stops is answered after the restart', async () => {
    const a = await start({ agent: { persistDelayMs: 3000 } });
    const ann = bench.person(111);
    await ann.say('slow one');
    await waitFor('fetched by the first process', () => a.agent.submitted.length === 1);
    a.agent.crash(); // dies before its turn stores the message
    await a.stop();
    assert.equal(a.agent.turns.length, 0);
    assert.ok(bench.proxy.confirmed <= bench.proxy.lastId, 'the update was never confirmed to Telegram');

    const b = await start();
    await waitFor('answered after restart', () => answers().length === 1);
    await delay(500);
    assert.deepEqual(answers(), ['answer to slow one']);
    assert.deepEqual(b.agent.turns.map((t) => t.text), ['slow one']);
  });

  it('a crash after the message was stored but before the offset was saved does not answer it twice', async () => {
    const a = await start({ script: (i) => (i.text === 'fatal' ? { crashAfterPersist: true } : { text: `answer to ${i.text}` }) });
    const ann = bench.person(111);
    await ann.say('fatal');
    await waitFor('stored by the first process', () => a.agent.turns.length === 1);
    const offsetBefore = a.store.kvGet('telegram.offset');
    await a.stop();

    const b = await start();
    await ann.say('after');
    await waitFor('answer to the next message', () => answers().includes('answer to after'));
    await delay(500);
    assert.deepEqual(b.agent.submitted.map((t) => t.text), ['after'], 'the stored message is not sent to the agent again');
    assert.deepEqual(answers(), ['answer to after']);
    assert.ok(bench.logLines.some((l) => l.includes('already stored before the restart')));
    assert.notEqual(b.store.kvGet('telegram.offset'), offsetBefore);
    assert.equal(b.store.kvGet('telegram.offset'), String(bench.proxy.lastId + 1));
    const session = b.agent.sessionKey({ dialog: 'telegram', chat: '111' });
    assert.deepEqual([...b.store.messages(session)].filter((m) => m.role === 'user').map((m) => m.content), ['fatal', 'after'], 'each message stored once');
  });

  it('updates settled out of order are remembered: a busy chat does not make another chat repeat after a restart', async () => {
    const a = await start({
      telegram: { stream: false, allowed_users: [111, 112] },
      script: (i) => (i.text === 'long task' ? { chunks: ['working…'], hold: true } : { text: `answer to ${i.text}` }),
    });
    const ann = bench.person(111);
    const bob = bench.person(112);
    await ann.say('long task'); // runs until cancelled
    await waitFor('long task running', () => a.agent.turns.length === 1);
    await ann.say('queued behind it'); // waits in Ann's session: fetched, not yet stored
    await waitFor('queued', () => a.agent.submitted.length === 2);
    await bob.say('/help'); // another chat: a command, handled at once and stored nowhere
    await waitFor('bob answered', () => bench.messages(112).length === 1);
    a.agent.crash();
    await a.stop();

    bench.proxy.rewind(0); // Telegram re-delivers everything it ever had
    const b = await start({ telegram: { stream: false, allowed_users: [111, 112] } });
    await waitFor('queued message answered', () => answers().includes('answer to queued behind it'));
    await delay(600);
    assert.deepEqual(b.agent.submitted.map((t) => t.text), ['queued behind it'], 'only the message that was never stored is handled again');
    assert.equal(bench.messages(112).length, 1, 'Bob is not answered twice');
    assert.equal(b.agent.submitted.length, 1);
  });
});
