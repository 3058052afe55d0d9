// Starts the real Guard with tiny limits, then misbehaves as told:
//   busy    — a JS busy loop (blocked event loop)
//   native  — blocked inside a synchronous native call (spawnSync sleep)
//   heap    — keeps allocating until the heap passes its test budget
//   healthy — behaves, and stops the guard after a while (must exit 0)
//   watcher-pid — prints the loop watcher's pid on stderr, then idles
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Guard } from '../../../src/device/guard.ts';
import { createLogger } from '../../../src/log.ts';
import { Secrets } from '../../../src/util/secrets.ts';

const mode = process.argv[2];
const log = createLogger({ level: 'info', secrets: new Secrets() });
const guard = new Guard({ log, blockedMs: 400, graceMs: 300, heapBudgetBytes: 24 * 1024 * 1024, heapGraceMs: 300, heapCheckMs: 50 });
guard.start();
process.on('exit', (code) => process.stderr.write(`exit handler ran (${code})\n`));

setTimeout(() => {
  if (mode === 'busy') {
    for (;;) {
      // runaway
    }
  }
  if (mode === 'native') spawnSync('sleep', ['30']);
  if (mode === 'heap') {
    const keep: number[][] = [];
    const grow = () => {
      for (let i = 0; i < 20; i++) keep.push(new Array(10_000).fill(i));
      setTimeout(grow, 10);
    };
    grow();
  }
  if (mode === 'healthy') {
    const timer = setInterval(() => undefined, 50);
    setTimeout(async () => {
      clearInterval(timer);
      await guard.stop();
    }, 3000);
  }
  if (mode === 'watcher-pid') {
    process.stderr.write(`watcher ${fs.readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim()}\n`);
    setInterval(() => undefined, 1000);
  }
}, 300);
