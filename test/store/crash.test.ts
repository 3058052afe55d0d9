// A crash mid-write never leaves the database unreadable: a child writes in a
// loop and reports each commit; it is killed with SIGKILL at a random moment;
// the database must pass integrity_check and hold every reported row.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { Store } from '../../src/store/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const WRITER = `
import { Store } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/store/index.ts'))};
const store = Store.open({ path: process.argv[1] });
store.ensureSession('k', { agent_id: 'main', dialog: 'cli', chat: 'c' });
const big = 'x'.repeat(2000);
for (let i = 0; ; i++) {
  const id = store.transaction(() => {
    const a = store.append('k', { role: 'user', content: 'u' + i + big });
    store.append('k', { role: 'assistant', content: 'a' + i });
    store.addUsage({ session_key: 'k', model: 'm', input: 1, output: 1, cost_usd: 0 });
    return a;
  });
  process.stdout.write(id + '\\n');
}
`;

for (const round of [1, 2, 3]) {
  it(`survives kill -9 during writes (round ${round})`, async () => {
    const dir = tempDir('aeon-crash-');
    const file = path.join(dir, 'aeon.db');
    const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // Let it commit a few hundred rows, then kill at a random moment.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (out.split('\n').length > 200 + Math.floor(Math.random() * 300)) {
          clearInterval(check);
          child.kill('SIGKILL');
          resolve();
        }
      }, 2);
    });
    await new Promise((r) => child.once('exit', r));
    const committed = out.split('\n').filter(Boolean).map(Number);
    assert.ok(committed.length > 200);
    const store = Store.open({ path: file });
    assert.equal(store.integrityCheck(), 'ok');
    const ids = new Set([...store.messages('k')].filter((m) => m.role === 'user').map((m) => m.id));
    for (const id of committed) assert.ok(ids.has(id), `committed row ${id} is missing after the crash`);
    // Every transaction is whole: each user row has its assistant row.
    const all = [...store.messages('k')];
    assert.equal(all.length % 2, 0);
    store.close();
  });
}
